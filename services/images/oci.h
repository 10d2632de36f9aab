// The OCI and Docker image documents berth reads and writes: media types, descriptors,
// indexes and manifests (as JSON, through nlohmann-json, whose exceptions stop here), the
// size bound every document is held to, and platform matching.
#ifndef BERTH_SERVICES_IMAGES_OCI_H_
#define BERTH_SERVICES_IMAGES_OCI_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace berth::images {

inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kOciLayer[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char kDockerLayer[] = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr char kDockerLayerGzip[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr char kOciLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";

// Annotations that name an image in an OCI layout's index.json.
inline constexpr char kContainerdImageName[] = "io.containerd.image.name";
inline constexpr char kOciRefName[] = "org.opencontainers.image.ref.name";

// Manifests, indexes and configs are read whole into memory; nothing legitimate comes close.
inline constexpr int64_t kMaxDocumentSize = 4 << 20;

enum class Kind { kIndex, kManifest, kConfig, kLayer, kUnknown };
Kind KindOf(absl::string_view media_type);
// "index", "manifest", "config", "layer", "blob"
const char* KindName(Kind kind);

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string String() const;
};

// linux and the machine's architecture in GOARCH spelling (amd64, arm64…).
Platform HostPlatform();
// `have` satisfies `want`: same os and architecture; an empty variant on either side matches.
bool PlatformMatches(const Platform& want, const Platform& have);

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  absl::optional<Platform> platform;
};

struct Index {
  std::vector<Descriptor> manifests;
};

struct Manifest {
  Descriptor config;
  std::vector<Descriptor> layers;
};

// INVALID_ARGUMENT when `size` is over kMaxDocumentSize; `what` names the document.
absl::Status CheckDocumentSize(int64_t size, absl::string_view what);

// Parsers check the JSON shape, every descriptor's digest and size, and the bound; `what`
// names the document in errors ("index.json", "manifest sha256:…").
absl::StatusOr<Index> ParseIndex(absl::string_view json, absl::string_view what);
absl::StatusOr<Manifest> ParseManifest(absl::string_view json, absl::string_view what);

// Compact JSON, keys in sorted order, so the same document always has the same digest.
std::string IndexJson(const Index& index, absl::string_view media_type);
std::string ManifestJson(const Manifest& manifest, absl::string_view media_type);

}  // namespace berth::images

#endif  // BERTH_SERVICES_IMAGES_OCI_H_
