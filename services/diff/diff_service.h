// berth.services.diff.v1.Diff: Apply extracts a layer blob from the content store onto the
// mounts of a snapshot without mounting them: a bind mount's source directly (whiteouts
// delete), an overlay's upperdir directly (whiteouts become overlay whiteouts). Diff writes
// the changes of `right` against `left` as a layer blob into the content store: from the
// overlay upperdir alone when `left` is exactly right's lower layers, otherwise by comparing
// the two trees (bind sources directly, anything else mounted read-only on a temporary
// directory for the call).
#ifndef BERTH_SERVICES_DIFF_DIFF_SERVICE_H_
#define BERTH_SERVICES_DIFF_DIFF_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "berth/services/diff/v1/diff.grpc.pb.h"
#include "services/content/content_store.h"
#include "services/diff/prefetch.h"
#include "snapshotter/apply/apply.h"

namespace berth::services {

// Where and how a layer goes for `mounts`; INVALID_ARGUMENT for mounts Apply cannot target.
absl::StatusOr<std::pair<std::string, ::berth::snapshotter::ApplyOptions>> ApplyTarget(
    const google::protobuf::RepeatedPtrField<::berth::types::v1::Mount>& mounts);

// Makes lease `lease` of namespace `ns` hold blob `digest` (NOT_FOUND without that lease).
using LeaseHold = std::function<absl::Status(const std::string& ns, const std::string& lease,
                                             const std::string& digest)>;

class DiffService final : public ::berth::services::diff::v1::Diff::Service {
 public:
  // Diff calls `hold` (when set and the request names a lease) with the layer's digest before
  // committing it, so the lease holds the blob even when the namespace already had it and the
  // commit stores nothing: a collection between the answer and the caller's reference to it
  // cannot take it.
  explicit DiffService(std::shared_ptr<::berth::content::ContentStore> store,
                       LeaseHold hold = nullptr);

  grpc::Status Apply(grpc::ServerContext* ctx, const ::berth::services::diff::v1::ApplyRequest* req,
                     ::berth::services::diff::v1::ApplyResponse* resp) override;
  const LayerPrefetcher& prefetcher() const { return prefetcher_; }

  grpc::Status Diff(grpc::ServerContext* ctx, const ::berth::services::diff::v1::DiffRequest* req,
                    ::berth::services::diff::v1::DiffResponse* resp) override;

 private:
  const std::shared_ptr<::berth::content::ContentStore> store_;
  const LeaseHold hold_;
  LayerPrefetcher prefetcher_;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_DIFF_DIFF_SERVICE_H_
