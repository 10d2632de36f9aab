// Load: reads an image archive, OCI image layout or docker-archive, from a stream of chunks,
// writes every blob through the content store (digests verified), and names the images.
//
// The whole load runs under a lease of its own, so a collection in the middle of it takes
// nothing. Names are written last, in one transaction: a load that fails at any point (a
// truncated tar, a digest mismatch, a missing blob, an oversized document, an unknown media
// type) names nothing, and the blobs it stored go at the collection that follows.
#ifndef BERTH_SERVICES_IMAGES_IMPORTER_H_
#define BERTH_SERVICES_IMAGES_IMPORTER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "services/content/content_store.h"
#include "services/images/oci.h"
#include "services/images/tar_reader.h"
#include "services/metadata/image_records.h"
#include "services/metadata/store.h"

namespace berth::images {

struct ImportOptions {
  std::string ns;
  // Name for images the archive does not name, or repository for a bare tag in an OCI
  // layout's org.opencontainers.image.ref.name.
  std::string base_name;
  // Platform an index must provide; unset means the host's.
  absl::optional<Platform> platform;
};

struct ImportProgress {
  std::string ref;     // the archive entry, or the image name
  std::string status;  // "loading", "done", "exists", "named"
  int64_t offset = 0;
  int64_t total = 0;
};

using ProgressFn = std::function<void(const ImportProgress&)>;

absl::StatusOr<std::vector<metadata::ImageRecord>> ImportArchive(
    ::berth::content::ContentStore& store, metadata::MetadataStore& md,
    const ImportOptions& options, ChunkSource source, const ProgressFn& progress);

}  // namespace berth::images

#endif  // BERTH_SERVICES_IMAGES_IMPORTER_H_
