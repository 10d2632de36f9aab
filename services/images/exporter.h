// Save: writes images from the content store as one tar, streamed in chunks.
//
// Both formats are an OCI image layout (oci-layout, index.json naming each image with
// io.containerd.image.name and org.opencontainers.image.ref.name, blobs/sha256/…). The docker
// format adds Docker's manifest.json (Config, RepoTags, Layers pointing into blobs/), as
// Docker 25 writes it, so `docker load`, skopeo's docker-archive and OCI tools all read it.
#ifndef BERTH_SERVICES_IMAGES_EXPORTER_H_
#define BERTH_SERVICES_IMAGES_EXPORTER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "services/content/content_store.h"
#include "services/images/oci.h"
#include "services/metadata/image_records.h"

namespace berth::images {

enum class ArchiveFormat { kDocker, kOci };

// Receives the archive in order; an error stops the export.
using ChunkSink = std::function<absl::Status(absl::string_view)>;

struct ExportOptions {
  std::string ns;
  ArchiveFormat format = ArchiveFormat::kDocker;
  // Only this platform's manifests from indexes (unset: every platform present). It also
  // picks the manifest that manifest.json describes (unset: the host's).
  absl::optional<Platform> platform;
};

// Everything is checked (every blob present, every document sound) before the first byte
// goes to `sink`, so a failure is a clean status rather than half an archive.
absl::Status ExportArchive(::berth::content::ContentStore& store, const ExportOptions& options,
                           const std::vector<metadata::ImageRecord>& images, const ChunkSink& sink);

}  // namespace berth::images

#endif  // BERTH_SERVICES_IMAGES_EXPORTER_H_
