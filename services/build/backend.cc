#include "services/build/backend.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "services/common/proto_time.h"

namespace berth::build {
namespace {

namespace cpb = ::berth::services::content::v1;
namespace dpb = ::berth::services::diff::v1;
namespace ipb = ::berth::services::images::v1;
namespace lpb = ::berth::services::leases::v1;
namespace spb = ::berth::services::snapshots::v1;
namespace tpb = ::berth::types::v1;

absl::Status Call(const grpc::Status& st, absl::string_view what) {
  if (st.ok()) return absl::OkStatus();
  return Annotate(FromGrpcStatus(st), what);
}

}  // namespace

std::vector<::berth::snapshotter::Mount> ToMounts(const Mounts& mounts) {
  std::vector<::berth::snapshotter::Mount> out;
  for (const tpb::Mount& m : mounts) {
    out.push_back({.type = m.type(),
                   .source = m.source(),
                   .options = {m.options().begin(), m.options().end()}});
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Backend>> Backend::Connect(const ChannelSource& channels,
                                                          std::string ns, std::string snapshotter) {
  std::unique_ptr<Backend> b(new Backend());
  b->ns_ = std::move(ns);
  b->snapshotter_ = std::move(snapshotter);
  auto get = [&](const char* name) -> absl::StatusOr<std::shared_ptr<grpc::Channel>> {
    std::shared_ptr<grpc::Channel> ch = channels(name);
    if (ch == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("build needs the ", name,
                       " service, which this berthd neither hosts nor reaches (see remote: in "
                       "the config)"));
    }
    return ch;
  };
  ASSIGN_OR_RETURN(auto images, get("images"));
  ASSIGN_OR_RETURN(auto content, get("content"));
  ASSIGN_OR_RETURN(auto leases, get("leases"));
  ASSIGN_OR_RETURN(auto snapshots, get("snapshots"));
  ASSIGN_OR_RETURN(auto diff, get("diff"));
  ASSIGN_OR_RETURN(auto containers, get("containers"));
  ASSIGN_OR_RETURN(auto tasks, get("tasks"));
  b->images_ = ipb::Images::NewStub(images);
  b->content_ = cpb::Content::NewStub(content);
  b->leases_ = lpb::Leases::NewStub(leases);
  b->snapshots_ = spb::Snapshots::NewStub(snapshots);
  b->diff_ = dpb::Diff::NewStub(diff);
  b->containers_ = ::berth::services::containers::v1::Containers::NewStub(containers);
  b->tasks_ = ::berth::services::tasks::v1::Tasks::NewStub(tasks);
  return b;
}

std::unique_ptr<grpc::ClientContext> Backend::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("berth-namespace", ns_);
  if (!lease_.empty()) ctx->AddMetadata("berth-lease", lease_);
  return ctx;
}

absl::StatusOr<ipb::Image> Backend::GetImage(const std::string& name) {
  ipb::GetImageRequest req;
  req.set_name(name);
  ipb::GetImageResponse resp;
  grpc::Status st = images_->Get(Context().get(), req, &resp);
  if (!st.ok()) return FromGrpcStatus(st);
  return resp.image();
}

absl::StatusOr<std::string> Backend::Unpack(const std::string& name) {
  ipb::UnpackImageRequest req;
  req.set_name(name);
  req.set_snapshotter(snapshotter_);
  ipb::UnpackImageResponse resp;
  RETURN_IF_ERROR(Call(images_->Unpack(Context().get(), req, &resp), "unpack"));
  return resp.chain_id();
}

absl::StatusOr<std::string> Backend::NameImage(const std::string& name,
                                               const tpb::Descriptor& target) {
  ipb::CreateImageRequest req;
  req.mutable_image()->set_name(name);
  *req.mutable_image()->mutable_target() = target;
  ipb::CreateImageResponse resp;
  grpc::Status st = images_->Create(Context().get(), req, &resp);
  if (st.ok()) return resp.image().name();
  if (st.error_code() != grpc::StatusCode::ALREADY_EXISTS) return Call(st, "naming the image");
  ipb::UpdateImageRequest up;
  up.mutable_image()->set_name(name);
  *up.mutable_image()->mutable_target() = target;
  up.mutable_update_mask()->add_paths("target");
  ipb::UpdateImageResponse uresp;
  RETURN_IF_ERROR(Call(images_->Update(Context().get(), up, &uresp), "naming the image"));
  return uresp.image().name();
}

absl::StatusOr<std::string> Backend::ReadBlob(const std::string& digest, int64_t max_size) {
  cpb::ReadContentRequest req;
  req.set_digest(digest);
  auto ctx = Context();
  auto reader = content_->Read(ctx.get(), req);
  std::string out;
  cpb::ReadContentResponse resp;
  while (reader->Read(&resp)) {
    out += resp.data();
    if (static_cast<int64_t>(out.size()) > max_size) {
      ctx->TryCancel();
      while (reader->Read(&resp)) {
      }
      reader->Finish().ok();
      return absl::InvalidArgumentError(
          absl::StrCat("blob ", digest, " is over ", max_size, " bytes"));
    }
  }
  RETURN_IF_ERROR(Call(reader->Finish(), absl::StrCat("read ", digest)));
  return out;
}

absl::StatusOr<bool> Backend::HasBlob(const std::string& digest) {
  cpb::InfoRequest req;
  req.set_digest(digest);
  cpb::InfoResponse resp;
  grpc::Status st = content_->Info(Context().get(), req, &resp);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND) return false;
  RETURN_IF_ERROR(Call(st, absl::StrCat("content info ", digest)));
  return true;
}

absl::StatusOr<tpb::Descriptor> Backend::WriteBlob(
    const std::string& data, const std::string& media_type,
    const std::map<std::string, std::string>& labels) {
  static std::atomic<int64_t> counter{0};
  const std::string digest = Sha256Of(data).ToString();
  auto ctx = Context();
  auto stream = content_->Write(ctx.get());
  cpb::WriteContentRequest req;
  req.set_action(cpb::COMMIT);
  req.set_ref(absl::StrCat("build-", digest, "-", absl::ToUnixNanos(absl::Now()), "-", counter++));
  req.set_total(static_cast<int64_t>(data.size()));
  req.set_expected(digest);
  req.set_data(data);
  req.mutable_labels()->insert(labels.begin(), labels.end());
  stream->Write(req);
  stream->WritesDone();
  cpb::WriteContentResponse resp;
  while (stream->Read(&resp)) {
  }
  grpc::Status st = stream->Finish();
  if (!st.ok() && st.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
    return Call(st, absl::StrCat("write ", digest));
  }
  tpb::Descriptor d;
  d.set_media_type(media_type);
  d.set_digest(digest);
  d.set_size(static_cast<int64_t>(data.size()));
  return d;
}

absl::Status Backend::CreateLease(const std::string& id, absl::Duration expires_in) {
  lpb::CreateRequest req;
  req.set_id(id);
  if (expires_in != absl::InfiniteDuration()) {
    ::berth::services::ToProto(absl::Now() + expires_in, req.mutable_expires_at());
  }
  lpb::CreateResponse resp;
  grpc::Status st = leases_->Create(Context().get(), req, &resp);
  if (st.error_code() == grpc::StatusCode::ALREADY_EXISTS) return absl::OkStatus();
  return Call(st, absl::StrCat("create lease ", id));
}

absl::Status Backend::DeleteLease(const std::string& id) {
  lpb::DeleteRequest req;
  req.set_id(id);
  google::protobuf::Empty e;
  grpc::Status st = leases_->Delete(Context().get(), req, &e);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND) return absl::OkStatus();
  return Call(st, absl::StrCat("delete lease ", id));
}

absl::Status Backend::AddToLease(const std::string& id, const std::string& digest) {
  lpb::AddResourceRequest req;
  req.set_id(id);
  req.mutable_resource()->set_type("content");
  req.mutable_resource()->set_id(digest);
  google::protobuf::Empty e;
  return Call(leases_->AddResource(Context().get(), req, &e), absl::StrCat("lease ", id));
}

absl::StatusOr<Mounts> Backend::Prepare(const std::string& key, const std::string& parent) {
  spb::PrepareSnapshotRequest req;
  req.set_snapshotter(snapshotter_);
  req.set_key(key);
  req.set_parent(parent);
  spb::PrepareSnapshotResponse resp;
  RETURN_IF_ERROR(Call(snapshots_->Prepare(Context().get(), req, &resp),
                       absl::StrCat("prepare snapshot ", key)));
  return resp.mounts();
}

absl::StatusOr<Mounts> Backend::View(const std::string& key, const std::string& parent) {
  spb::ViewSnapshotRequest req;
  req.set_snapshotter(snapshotter_);
  req.set_key(key);
  req.set_parent(parent);
  spb::ViewSnapshotResponse resp;
  RETURN_IF_ERROR(
      Call(snapshots_->View(Context().get(), req, &resp), absl::StrCat("view snapshot ", key)));
  return resp.mounts();
}

absl::Status Backend::Commit(const std::string& name, const std::string& key,
                             const std::map<std::string, std::string>& labels) {
  spb::CommitSnapshotRequest req;
  req.set_snapshotter(snapshotter_);
  req.set_name(name);
  req.set_key(key);
  req.mutable_labels()->insert(labels.begin(), labels.end());
  google::protobuf::Empty e;
  grpc::Status st = snapshots_->Commit(Context().get(), req, &e);
  if (st.error_code() == grpc::StatusCode::ALREADY_EXISTS) return FromGrpcStatus(st);
  return Call(st, absl::StrCat("commit snapshot ", key));
}

absl::Status Backend::Remove(const std::string& key) {
  spb::RemoveSnapshotRequest req;
  req.set_snapshotter(snapshotter_);
  req.set_key(key);
  google::protobuf::Empty e;
  grpc::Status st = snapshots_->Remove(Context().get(), req, &e);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND) return absl::OkStatus();
  return Call(st, absl::StrCat("remove snapshot ", key));
}

absl::StatusOr<bool> Backend::SnapshotExists(const std::string& name) {
  spb::StatSnapshotRequest req;
  req.set_snapshotter(snapshotter_);
  req.set_key(name);
  spb::StatSnapshotResponse resp;
  grpc::Status st = snapshots_->Stat(Context().get(), req, &resp);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND) return false;
  RETURN_IF_ERROR(Call(st, absl::StrCat("stat snapshot ", name)));
  return true;
}

absl::StatusOr<std::vector<std::string>> Backend::ListSnapshots(const std::string& filter) {
  spb::ListSnapshotsRequest req;
  req.set_snapshotter(snapshotter_);
  req.add_filters(filter);
  auto ctx = Context();
  auto reader = snapshots_->List(ctx.get(), req);
  std::vector<std::string> out;
  spb::ListSnapshotsResponse batch;
  while (reader->Read(&batch)) {
    for (const spb::Info& i : batch.info()) out.push_back(i.name());
  }
  RETURN_IF_ERROR(Call(reader->Finish(), "list snapshots"));
  return out;
}

absl::StatusOr<tpb::Descriptor> Backend::Diff(const Mounts& left, const Mounts& right,
                                              const std::string& media_type) {
  dpb::DiffRequest req;
  *req.mutable_left() = left;
  *req.mutable_right() = right;
  req.set_media_type(media_type);
  dpb::DiffResponse resp;
  RETURN_IF_ERROR(Call(diff_->Diff(Context().get(), req, &resp), "making the layer"));
  return resp.diff();
}

}  // namespace berth::build
