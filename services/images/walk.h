// Walks an image in a content store: from its target (an index or a manifest) down to the
// manifests, configs and layers a platform needs, checking on the way that each blob is
// present, of a known media type, of the recorded size, and (for documents) within bounds.
#ifndef BERTH_SERVICES_IMAGES_WALK_H_
#define BERTH_SERVICES_IMAGES_WALK_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "services/content/content_store.h"
#include "services/images/oci.h"

namespace berth::images {

// Reads a manifest, index or config whole, after checking its size against the bound and
// against the descriptor.
absl::StatusOr<std::string> ReadDocument(::berth::content::ContentStore& store,
                                         const std::string& ns, const Descriptor& desc);

// Called once per blob, parents before children. `children` lists what a document references
// (an index's manifests, a manifest's config then layers), present or not.
using WalkFn =
    std::function<absl::Status(const Descriptor& desc, const std::vector<Descriptor>& children)>;

struct WalkOptions {
  // Children of an index for this platform must be present; with none, every present child
  // is walked and none is required. Children for other platforms are walked when present.
  absl::optional<Platform> platform;
};

// NOT_FOUND names a missing blob and what needed it; INVALID_ARGUMENT an unknown media type,
// a wrong size or an oversized or malformed document; FAILED_PRECONDITION an index with no
// manifest for the platform.
absl::Status Walk(::berth::content::ContentStore& store, const std::string& ns,
                  const Descriptor& target, const WalkOptions& options, const WalkFn& fn);

// The platform manifest of `target` (itself when it is a manifest): the first present child
// of an index matching `platform`, depth first.
absl::StatusOr<Descriptor> ResolveManifest(::berth::content::ContentStore& store,
                                           const std::string& ns, const Descriptor& target,
                                           const Platform& platform);

}  // namespace berth::images

#endif  // BERTH_SERVICES_IMAGES_WALK_H_
