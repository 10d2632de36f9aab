// Pull: a reference resolved on its registry, the platform's manifest chosen from an index,
// and every blob fetched into the content store, verified by digest as it streams, several
// layers at once. Each blob goes through an ingest named for its digest, so a transfer cut
// short resumes (Range) from what arrived, within this pull after a pause, or in the next
// pull. The whole pull runs under a lease of its own; the image is named last, in the same
// transaction that drops the lease, so a pull that fails leaves nothing referenced (its
// blobs go at the collection that follows).
#ifndef BERTH_SERVICES_IMAGES_PULL_H_
#define BERTH_SERVICES_IMAGES_PULL_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "services/content/content_store.h"
#include "services/images/oci.h"
#include "services/images/reference.h"
#include "services/images/registry/client.h"
#include "services/images/transfer.h"
#include "services/metadata/image_records.h"
#include "services/metadata/store.h"

namespace berth::images {

struct PullOptions {
  std::string ns;
  // The platform to take from an index; unset means the host's.
  absl::optional<Platform> platform;
  // Every manifest of an index (so it can be pushed on whole).
  bool all_platforms = false;
  std::map<std::string, std::string> labels;  // on the image record
  int max_concurrent_downloads = 3;
  // Tries of one blob in a row that bring no new byte before the pull gives up, and the
  // first wait between them (doubling, at most 8 s).
  int retries = 6;
  absl::Duration retry_delay = absl::Seconds(1);
  std::function<bool()> cancelled;
  // Called once the index and manifests are stored and before the blobs are fetched, with
  // the image's target (so an unpack can start beside the downloads).
  std::function<void(const Descriptor& target)> on_documents;
};

struct PullResult {
  metadata::ImageRecord image;
  int64_t downloaded_bytes = 0;
  // The name pointed at this target already and every blob was here.
  bool up_to_date = false;
};

absl::StatusOr<PullResult> PullImage(::berth::content::ContentStore& store,
                                     metadata::MetadataStore& md, registry::RegistryClient& client,
                                     const Reference& ref, const PullOptions& options,
                                     const TransferProgressFn& progress);

}  // namespace berth::images

#endif  // BERTH_SERVICES_IMAGES_PULL_H_
