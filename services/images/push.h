// Push: an image in the content store uploaded to a registry. Blobs first (layers and configs,
// several at once): skipped when the registry has them (HEAD), mounted from the repository
// they were pulled from when the registry holds that one, else uploaded (one PUT for small
// blobs, chunked PATCHes for large ones). Then manifests, children before the index that
// lists them, and last the root under the tag.
#ifndef BERTH_SERVICES_IMAGES_PUSH_H_
#define BERTH_SERVICES_IMAGES_PUSH_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "services/content/content_store.h"
#include "services/images/oci.h"
#include "services/images/reference.h"
#include "services/images/registry/client.h"
#include "services/images/transfer.h"

namespace berth::images {

struct PushOptions {
  std::string ns;
  // When the image is an index, push only this platform's manifest.
  absl::optional<Platform> platform;
  int max_concurrent_uploads = 3;
  std::function<bool()> cancelled;
};

// Pushes `target` (an image's root) to `dest`'s repository under its tag or digest; returns
// the descriptor the registry now serves there.
absl::StatusOr<Descriptor> PushImage(::berth::content::ContentStore& store,
                                     registry::RegistryClient& client, const Descriptor& target,
                                     const Reference& dest, const PushOptions& options,
                                     const TransferProgressFn& progress);

}  // namespace berth::images

#endif  // BERTH_SERVICES_IMAGES_PUSH_H_
