// Image documents: OCI indexes and manifests (and Docker's manifest lists and manifests, which
// share the parsers), and the manifest.json of `docker save` archives. They come from
// registries and from archives given to `berth load`.
#include <string>

#include "fuzz/fuzz_target.h"
#include "services/images/docker_archive.h"
#include "services/images/oci.h"

BERTH_FUZZ_TARGET(FuzzManifest) {
  using namespace berth::images;
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  if (absl::StatusOr<Index> index = ParseIndex(json, "index"); index.ok()) {
    // What is parsed must write back out (the digest of the result is what gets stored).
    (void)IndexJson(*index, kOciIndex);
    for (const Descriptor& d : index->manifests) {
      (void)KindOf(d.media_type);
      if (d.platform) (void)PlatformMatches(HostPlatform(), *d.platform);
    }
  }
  if (absl::StatusOr<Manifest> m = ParseManifest(json, "manifest"); m.ok()) {
    (void)ManifestJson(*m, kOciManifest);
  }
  if (absl::StatusOr<std::vector<DockerArchiveEntry>> entries = ParseDockerManifestFile(json);
      entries.ok()) {
    (void)DockerManifestFileJson(*entries);
  }
  (void)LayerMediaTypeFromMagic(json);
  return 0;
}
