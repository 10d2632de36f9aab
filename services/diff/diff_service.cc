#include "services/diff/diff_service.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "services/common/request_metadata.h"

namespace berth::services {

namespace pb = ::berth::services::diff::v1;

absl::StatusOr<std::pair<std::string, ::berth::snapshotter::ApplyOptions>> ApplyTarget(
    const google::protobuf::RepeatedPtrField<::berth::types::v1::Mount>& mounts) {
  if (mounts.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("apply needs exactly one mount, got ", mounts.size()));
  }
  const auto& m = mounts[0];
  bool bind = m.type() == "bind";
  for (const std::string& o : m.options()) {
    if (o == "ro") return absl::InvalidArgumentError("apply onto a read-only mount");
    if (o == "bind" || o == "rbind") bind = true;
  }
  if (bind) return std::make_pair(m.source(), ::berth::snapshotter::ApplyOptions{});
  if (m.type() == "overlay") {
    for (const std::string& o : m.options()) {
      if (absl::StartsWith(o, "upperdir=")) {
        return std::make_pair(o.substr(9),
                              ::berth::snapshotter::ApplyOptions{.overlay_whiteouts = true});
      }
    }
    return absl::InvalidArgumentError("apply onto an overlay mount without an upperdir");
  }
  return absl::InvalidArgumentError(absl::StrCat("apply onto a \"", m.type(), "\" mount"));
}

DiffService::DiffService(std::shared_ptr<::berth::content::ContentStore> store)
    : store_(std::move(store)) {}

grpc::Status DiffService::Apply(grpc::ServerContext* ctx, const pb::ApplyRequest* req,
                                pb::ApplyResponse* resp) {
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string ns, RequestNamespace(*ctx));
    ASSIGN_OR_RETURN(Digest digest, Digest::Parse(req->diff().digest()));
    ASSIGN_OR_RETURN(auto target, ApplyTarget(req->mounts()));
    ASSIGN_OR_RETURN(std::unique_ptr<::berth::content::Reader> reader, store_->Open(ns, digest));
    int64_t offset = 0;
    auto read = [&](char* buf, size_t n) -> absl::StatusOr<size_t> {
      if (ctx->IsCancelled()) return absl::CancelledError("the client went away");
      ASSIGN_OR_RETURN(size_t got, reader->ReadAt(offset, buf, n));
      offset += static_cast<int64_t>(got);
      return got;
    };
    ASSIGN_OR_RETURN(::berth::snapshotter::ApplyResult r,
                     ::berth::snapshotter::ApplyLayer(read, target.first, target.second));
    resp->mutable_applied()->set_media_type("application/vnd.oci.image.layer.v1.tar");
    resp->mutable_applied()->set_digest(r.diff_id);
    resp->mutable_applied()->set_size(r.size);
    return absl::OkStatus();
  }();
  if (!st.ok()) {
    return ToGrpcStatus(
        absl::Status(st.code(), absl::StrCat("apply ", req->diff().digest(), ": ", st.message())));
  }
  return grpc::Status::OK;
}

}  // namespace berth::services
