#include "snapshotter/proxy/proxy.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"

namespace berth::snapshotter {
namespace {

namespace pb = berth::services::snapshots::v1;

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

Info FromProto(const pb::Info& in) {
  Info out;
  out.name = in.name();
  out.parent = in.parent();
  out.kind = static_cast<Kind>(in.kind());
  out.created = FromProto(in.created_at());
  out.updated = FromProto(in.updated_at());
  out.labels = Labels(in.labels().begin(), in.labels().end());
  return out;
}

template <typename Repeated>
std::vector<Mount> MountsFromProto(const Repeated& in) {
  std::vector<Mount> out;
  for (const auto& m : in) {
    out.push_back(Mount{m.type(), m.source(), {m.options().begin(), m.options().end()}});
  }
  return out;
}

template <typename Map>
void LabelsToProto(const Labels& labels, Map* out) {
  for (const auto& [k, v] : labels) (*out)[k] = v;
}

}  // namespace

ProxySnapshotter::ProxySnapshotter(std::string name, std::shared_ptr<grpc::Channel> channel)
    : name_(std::move(name)),
      channel_(std::move(channel)),
      stub_(pb::Snapshots::NewStub(channel_)) {}

absl::Status ProxySnapshotter::Error(const grpc::Status& st, absl::string_view call) const {
  return Annotate(FromGrpcStatus(st), absl::StrCat("proxy snapshotter ", name_, ": ", call));
}

absl::StatusOr<Info> ProxySnapshotter::Stat(const std::string& key) {
  pb::StatSnapshotRequest req;
  req.set_key(key);
  pb::StatSnapshotResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Stat(&ctx, req, &resp);
  if (!st.ok()) return Error(st, "Stat");
  return FromProto(resp.info());
}

absl::StatusOr<Info> ProxySnapshotter::Update(const Info& info,
                                              const std::vector<std::string>& paths) {
  pb::UpdateSnapshotRequest req;
  req.mutable_info()->set_name(info.name);
  LabelsToProto(info.labels, req.mutable_info()->mutable_labels());
  for (const std::string& p : paths) req.mutable_update_mask()->add_paths(p);
  pb::UpdateSnapshotResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Update(&ctx, req, &resp);
  if (!st.ok()) return Error(st, "Update");
  return FromProto(resp.info());
}

absl::StatusOr<Usage> ProxySnapshotter::GetUsage(const std::string& key) {
  pb::UsageRequest req;
  req.set_key(key);
  pb::UsageResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Usage(&ctx, req, &resp);
  if (!st.ok()) return Error(st, "Usage");
  return Usage{resp.size(), resp.inodes()};
}

absl::StatusOr<std::vector<Mount>> ProxySnapshotter::Mounts(const std::string& key) {
  pb::MountsRequest req;
  req.set_key(key);
  pb::MountsResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Mounts(&ctx, req, &resp);
  if (!st.ok()) return Error(st, "Mounts");
  return MountsFromProto(resp.mounts());
}

absl::StatusOr<std::vector<Mount>> ProxySnapshotter::Prepare(const std::string& key,
                                                             const std::string& parent,
                                                             const Labels& labels) {
  pb::PrepareSnapshotRequest req;
  req.set_key(key);
  req.set_parent(parent);
  LabelsToProto(labels, req.mutable_labels());
  pb::PrepareSnapshotResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Prepare(&ctx, req, &resp);
  if (!st.ok()) return Error(st, "Prepare");
  return MountsFromProto(resp.mounts());
}

absl::StatusOr<std::vector<Mount>> ProxySnapshotter::View(const std::string& key,
                                                          const std::string& parent,
                                                          const Labels& labels) {
  pb::ViewSnapshotRequest req;
  req.set_key(key);
  req.set_parent(parent);
  LabelsToProto(labels, req.mutable_labels());
  pb::ViewSnapshotResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->View(&ctx, req, &resp);
  if (!st.ok()) return Error(st, "View");
  return MountsFromProto(resp.mounts());
}

absl::Status ProxySnapshotter::Commit(const std::string& name, const std::string& key,
                                      const Labels& labels) {
  pb::CommitSnapshotRequest req;
  req.set_name(name);
  req.set_key(key);
  LabelsToProto(labels, req.mutable_labels());
  google::protobuf::Empty resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Commit(&ctx, req, &resp);
  return st.ok() ? absl::OkStatus() : Error(st, "Commit");
}

absl::Status ProxySnapshotter::Remove(const std::string& key) {
  pb::RemoveSnapshotRequest req;
  req.set_key(key);
  google::protobuf::Empty resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Remove(&ctx, req, &resp);
  return st.ok() ? absl::OkStatus() : Error(st, "Remove");
}

absl::Status ProxySnapshotter::Walk(const std::function<absl::Status(const Info&)>& fn,
                                    const std::vector<std::string>& filters) {
  pb::ListSnapshotsRequest req;
  for (const std::string& f : filters) req.add_filters(f);
  grpc::ClientContext ctx;
  auto reader = stub_->List(&ctx, req);
  pb::ListSnapshotsResponse resp;
  absl::Status stopped;
  while (stopped.ok() && reader->Read(&resp)) {
    for (const pb::Info& i : resp.info()) {
      stopped = fn(FromProto(i));
      if (!stopped.ok()) break;
    }
  }
  if (!stopped.ok()) {
    ctx.TryCancel();
    reader->Finish();
    return stopped;
  }
  grpc::Status st = reader->Finish();
  return st.ok() ? absl::OkStatus() : Error(st, "List");
}

absl::Status ProxySnapshotter::Cleanup() {
  pb::CleanupRequest req;
  google::protobuf::Empty resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Cleanup(&ctx, req, &resp);
  return st.ok() ? absl::OkStatus() : Error(st, "Cleanup");
}

}  // namespace berth::snapshotter
