#include "services/snapshots/snapshots_service.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/filter.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "services/common/proto_time.h"
#include "services/common/request_metadata.h"

namespace berth::services {
namespace {

namespace pb = ::berth::services::snapshots::v1;
namespace sn = ::berth::snapshotter;

// An empty `ns` (a service that does not scope keys) leaves keys and errors as they are.
std::string Scoped(const std::string& ns, const std::string& key) {
  return key.empty() || ns.empty() ? key : absl::StrCat(ns, "/", key);
}

std::string Unscoped(const std::string& ns, const std::string& key) {
  return !ns.empty() && absl::StartsWith(key, ns + "/") ? key.substr(ns.size() + 1) : key;
}

// Errors name scoped keys; the client knows only its own.
absl::Status Strip(const std::string& ns, const absl::Status& st) {
  if (st.ok() || ns.empty()) return st;
  std::string msg(st.message());
  std::string from = absl::StrCat("\"", ns, "/");
  for (size_t pos; (pos = msg.find(from)) != std::string::npos;)
    msg.replace(pos, from.size(), "\"");
  return absl::Status(st.code(), msg);
}

void ToProto(const std::string& ns, const sn::Info& in, pb::Info* out) {
  out->set_name(Unscoped(ns, in.name));
  out->set_parent(Unscoped(ns, in.parent));
  out->set_kind(static_cast<pb::Kind>(in.kind));
  ::berth::services::ToProto(in.created, out->mutable_created_at());
  ::berth::services::ToProto(in.updated, out->mutable_updated_at());
  for (const auto& [k, v] : in.labels) (*out->mutable_labels())[k] = v;
}

template <typename Repeated>
void MountsToProto(const std::vector<sn::Mount>& mounts, Repeated* out) {
  for (const sn::Mount& m : mounts) {
    auto* pm = out->Add();
    pm->set_type(m.type);
    pm->set_source(m.source);
    for (const std::string& o : m.options) pm->add_options(o);
  }
}

// Keys are free-form, as containerd's, but every snapshotter stores them (SQLite, the proxy
// protocol, error messages): a NUL would cut one short, and nothing legitimate is this long.
constexpr size_t kMaxKeyBytes = 4096;

absl::Status CheckKey(const char* what, const std::string& key) {
  if (key.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot ", what, " contains a NUL byte"));
  }
  if (key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "snapshot ", what, " is ", key.size(), " bytes, more than the limit of ", kMaxKeyBytes));
  }
  return absl::OkStatus();
}

sn::Labels LabelsOf(const google::protobuf::Map<std::string, std::string>& m) {
  return sn::Labels(m.begin(), m.end());
}

}  // namespace

SnapshotsService::SnapshotsService(SnapshotterMap snapshotters, std::string default_name,
                                   bool scope_keys)
    : snapshotters_(std::move(snapshotters)),
      default_(std::move(default_name)),
      scope_keys_(scope_keys) {}

absl::StatusOr<sn::Snapshotter*> SnapshotsService::Find(const std::string& name) const {
  const std::string& n = name.empty() ? default_ : name;
  auto it = snapshotters_.find(n);
  if (it == snapshotters_.end()) {
    std::vector<std::string> known;
    for (const auto& [k, v] : snapshotters_) known.push_back(k);
    return absl::NotFoundError(absl::StrCat(
        "snapshotter \"", n, "\" is not configured (known: ", absl::StrJoin(known, ", "), ")"));
  }
  return it->second.get();
}

// Each RPC: resolve the namespace and the snapshotter, act, strip the namespace from errors.
#define SNAP_PROLOGUE(req)                                            \
  absl::StatusOr<std::string> ns_or = RequestNamespace(*ctx);         \
  if (!ns_or.ok()) return ToGrpcStatus(ns_or.status());               \
  const std::string ns = scope_keys_ ? *ns_or : std::string();        \
  absl::StatusOr<sn::Snapshotter*> s_or = Find((req)->snapshotter()); \
  if (!s_or.ok()) return ToGrpcStatus(s_or.status());                 \
  sn::Snapshotter& s = **s_or;

grpc::Status SnapshotsService::Prepare(grpc::ServerContext* ctx,
                                       const pb::PrepareSnapshotRequest* req,
                                       pb::PrepareSnapshotResponse* resp) {
  SNAP_PROLOGUE(req);
  if (absl::Status st = CheckKey("key", req->key()); !st.ok()) return ToGrpcStatus(st);
  if (absl::Status st = CheckKey("parent", req->parent()); !st.ok()) return ToGrpcStatus(st);
  auto m = s.Prepare(Scoped(ns, req->key()), Scoped(ns, req->parent()), LabelsOf(req->labels()));
  if (!m.ok()) return ToGrpcStatus(Strip(ns, m.status()));
  MountsToProto(*m, resp->mutable_mounts());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::View(grpc::ServerContext* ctx, const pb::ViewSnapshotRequest* req,
                                    pb::ViewSnapshotResponse* resp) {
  SNAP_PROLOGUE(req);
  if (absl::Status st = CheckKey("key", req->key()); !st.ok()) return ToGrpcStatus(st);
  if (absl::Status st = CheckKey("parent", req->parent()); !st.ok()) return ToGrpcStatus(st);
  auto m = s.View(Scoped(ns, req->key()), Scoped(ns, req->parent()), LabelsOf(req->labels()));
  if (!m.ok()) return ToGrpcStatus(Strip(ns, m.status()));
  MountsToProto(*m, resp->mutable_mounts());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Mounts(grpc::ServerContext* ctx, const pb::MountsRequest* req,
                                      pb::MountsResponse* resp) {
  SNAP_PROLOGUE(req);
  auto m = s.Mounts(Scoped(ns, req->key()));
  if (!m.ok()) return ToGrpcStatus(Strip(ns, m.status()));
  MountsToProto(*m, resp->mutable_mounts());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Commit(grpc::ServerContext* ctx,
                                      const pb::CommitSnapshotRequest* req,
                                      google::protobuf::Empty*) {
  SNAP_PROLOGUE(req);
  if (absl::Status st = CheckKey("name", req->name()); !st.ok()) return ToGrpcStatus(st);
  if (absl::Status st = CheckKey("key", req->key()); !st.ok()) return ToGrpcStatus(st);
  return ToGrpcStatus(Strip(
      ns, s.Commit(Scoped(ns, req->name()), Scoped(ns, req->key()), LabelsOf(req->labels()))));
}

grpc::Status SnapshotsService::Remove(grpc::ServerContext* ctx,
                                      const pb::RemoveSnapshotRequest* req,
                                      google::protobuf::Empty*) {
  SNAP_PROLOGUE(req);
  return ToGrpcStatus(Strip(ns, s.Remove(Scoped(ns, req->key()))));
}

grpc::Status SnapshotsService::Stat(grpc::ServerContext* ctx, const pb::StatSnapshotRequest* req,
                                    pb::StatSnapshotResponse* resp) {
  SNAP_PROLOGUE(req);
  auto info = s.Stat(Scoped(ns, req->key()));
  if (!info.ok()) return ToGrpcStatus(Strip(ns, info.status()));
  ToProto(ns, *info, resp->mutable_info());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Update(grpc::ServerContext* ctx,
                                      const pb::UpdateSnapshotRequest* req,
                                      pb::UpdateSnapshotResponse* resp) {
  SNAP_PROLOGUE(req);
  sn::Info in;
  in.name = Scoped(ns, req->info().name());
  in.labels = LabelsOf(req->info().labels());
  std::vector<std::string> paths(req->update_mask().paths().begin(),
                                 req->update_mask().paths().end());
  auto info = s.Update(in, paths);
  if (!info.ok()) return ToGrpcStatus(Strip(ns, info.status()));
  ToProto(ns, *info, resp->mutable_info());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::List(grpc::ServerContext* ctx, const pb::ListSnapshotsRequest* req,
                                    grpc::ServerWriter<pb::ListSnapshotsResponse>* writer) {
  SNAP_PROLOGUE(req);
  absl::StatusOr<Filter> filter =
      Filter::Parse(std::vector<std::string>(req->filters().begin(), req->filters().end()));
  if (!filter.ok()) return ToGrpcStatus(filter.status());
  pb::ListSnapshotsResponse batch;
  constexpr int kBatch = 100;
  absl::Status st = s.Walk(
      [&](const sn::Info& raw) -> absl::Status {
        if (!ns.empty() && !absl::StartsWith(raw.name, ns + "/")) return absl::OkStatus();
        pb::Info info;
        ToProto(ns, raw, &info);
        auto lookup = [&](const std::vector<std::string>& f) -> absl::optional<std::string> {
          if (f.size() == 1 && f[0] == "name") return info.name();
          if (f.size() == 1 && f[0] == "parent") return info.parent();
          if (f.size() == 1 && f[0] == "kind") return std::string(sn::KindName(raw.kind));
          if (f.size() == 2 && f[0] == "labels") {
            auto it = raw.labels.find(f[1]);
            if (it != raw.labels.end()) return it->second;
          }
          return absl::nullopt;
        };
        if (!filter->Match(lookup)) return absl::OkStatus();
        *batch.add_info() = std::move(info);
        if (batch.info_size() >= kBatch) {
          if (!writer->Write(batch)) return absl::CancelledError("client went away");
          batch.Clear();
        }
        return absl::OkStatus();
      },
      {});
  if (!st.ok()) return ToGrpcStatus(st);
  if (batch.info_size() > 0) writer->Write(batch);
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Usage(grpc::ServerContext* ctx, const pb::UsageRequest* req,
                                     pb::UsageResponse* resp) {
  SNAP_PROLOGUE(req);
  auto u = s.GetUsage(Scoped(ns, req->key()));
  if (!u.ok()) return ToGrpcStatus(Strip(ns, u.status()));
  resp->set_size(u->size);
  resp->set_inodes(u->inodes);
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Cleanup(grpc::ServerContext* ctx, const pb::CleanupRequest* req,
                                       google::protobuf::Empty*) {
  SNAP_PROLOGUE(req);
  (void)ns;
  return ToGrpcStatus(s.Cleanup());
}

}  // namespace berth::services
