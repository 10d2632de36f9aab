// `run`/`create`'s volume flags, parsed as Docker parses them, and the OCI mounts they become:
//
//   -v NAME:/path[:opts]        a named volume (created on first use)
//   -v /host/path:/path[:opts]  a bind of a host path (which must exist)
//   -v /path                    an anonymous volume, made for this container alone
//   --mount type=volume|bind|tmpfs,source=…,target=…,readonly,…   Docker's CSV syntax
//   --volumes-from CONTAINER[:ro|rw]
//   the image's VOLUME entries  anonymous volumes, unless something else is mounted there
//
// -v's opts: ro|rw, nocopy, a propagation (rprivate…) and z|Z (accepted, no SELinux here),
// comma-separated. This library only parses and builds JSON; ctl/volume_api.h talks to the
// daemon to create the volumes.
#ifndef BERTH_CTL_CONTAINER_MOUNTS_H_
#define BERTH_CTL_CONTAINER_MOUNTS_H_

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace berth::ctl {

// A spec annotation: the destinations (JSON array) of the container's volume and bind mounts,
// which --volumes-from copies (not /etc/hosts and other binds berth makes itself).
inline constexpr char kMountsAnnotation[] = "berth.io/mounts";
// A spec annotation: destinations whose volume is not filled from the image (nocopy).
inline constexpr char kNoCopyAnnotation[] = "berth.io/volume-nocopy";

struct MountRequest {
  enum class Type { kVolume, kBind, kTmpfs };
  Type type = Type::kVolume;
  std::string source;  // volume name ("" = anonymous) or absolute host path; "" for tmpfs
  std::string target;  // absolute path in the container
  bool readonly = false;
  bool nocopy = false;
  bool recursive = true;    // bind: rbind (bind-nonrecursive clears it)
  std::string propagation;  // "" = rprivate
  // --mount's volume-driver, volume-label, volume-opt: used when the volume is created.
  std::string driver;
  std::map<std::string, std::string> volume_labels, volume_options;
  std::vector<std::string> tmpfs_options;  // size=, mode=
};

// -v / --volume. INVALID_ARGUMENT with Docker's wording: "invalid spec: …", "invalid mode: …",
// "invalid mount path: '…' mount path must be absolute", and for a relative source the volume
// name error that says to use an absolute path for a host directory.
absl::StatusOr<MountRequest> ParseVolumeFlag(absl::string_view spec);

// --mount. "invalid field '…' must be a key=value pair", "unexpected key '…' in '…'",
// "target is required", and the type mix-ups Docker refuses.
absl::StatusOr<MountRequest> ParseMountFlag(absl::string_view spec);

struct VolumesFrom {
  std::string container;
  absl::optional<bool> readonly;  // unset: as in the source container
};
// --volumes-from CONTAINER[:ro|rw].
absl::StatusOr<VolumesFrom> ParseVolumesFrom(absl::string_view spec);

// The image config's Volumes keys (the OCI config document or its "config" object), sorted.
std::vector<std::string> ImageVolumes(const nlohmann::json& image_config);

// The OCI mount of a volume or bind request whose host directory is `host_source`, or of a
// tmpfs request.
nlohmann::json OciMount(const MountRequest& m, const std::string& host_source);

// Adds `mounts` to the spec: a default mount (or --tmpfs) at the same destination is replaced,
// and the added ones come in order of depth, so that /a is mounted before /a/b. Records
// kMountsAnnotation (volume and bind destinations) and kNoCopyAnnotation.
void AddMountsToSpec(nlohmann::json& spec, std::vector<nlohmann::json> mounts,
                     const std::vector<std::string>& nocopy);

// The destinations a spec's kMountsAnnotation lists, and those of its mounts.
std::vector<nlohmann::json> UserMounts(const nlohmann::json& spec);

// Same cleaned target twice: "Duplicate mount point: /x".
absl::Status CheckDuplicate(const std::vector<std::string>& targets_so_far,
                            const std::string& target);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_MOUNTS_H_
