// docker-archive, what `docker save` writes: manifest.json lists, per image, the path of its
// config, its RepoTags and the paths of its layer tars. berth turns each entry into a Docker
// schema2 manifest stored in the content store, so that the image has a digest like any
// other; on save it writes manifest.json beside an OCI layout, as Docker 25 does.
#ifndef BERTH_SERVICES_IMAGES_DOCKER_ARCHIVE_H_
#define BERTH_SERVICES_IMAGES_DOCKER_ARCHIVE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/images/oci.h"

namespace berth::images {

inline constexpr char kDockerManifestFile[] = "manifest.json";

struct DockerArchiveEntry {
  std::string config;                  // path inside the archive
  std::vector<std::string> repo_tags;  // "busybox:latest"; may be empty
  std::vector<std::string> layers;     // paths inside the archive, base layer first
};

// Parses manifest.json (bounded like any document). INVALID_ARGUMENT says what is wrong.
absl::StatusOr<std::vector<DockerArchiveEntry>> ParseDockerManifestFile(absl::string_view json);
std::string DockerManifestFileJson(const std::vector<DockerArchiveEntry>& entries);

// The media type of a layer tar from its first bytes: gzip and zstd by their magic numbers,
// anything else an uncompressed tar.
std::string LayerMediaTypeFromMagic(absl::string_view head);

// The schema2 manifest for a docker-archive entry whose blobs are already stored.
Manifest DockerSchema2Manifest(const Descriptor& config, const std::vector<Descriptor>& layers);

}  // namespace berth::images

#endif  // BERTH_SERVICES_IMAGES_DOCKER_ARCHIVE_H_
