// The local volume driver's side on disk, shared by the volumes service (create, remove) and
// the tasks service (first use, copy-up):
//
//   <root>/volumes/                    0701
//     <namespace>/                     0701: volumes of one namespace never meet another's
//       <name>/                        0755
//         _data/                       what containers bind-mount (Volume.mountpoint)
//         opts.json                    the driver options, when there are any
//
// Options as Docker's local driver takes them: `type`, `device` and `o`. berth mounts two
// kinds at first use: type=tmpfs (o: tmpfs's size=, mode=, uid=, gid=, nr_inodes= and the
// flags below) and a bind of a host directory (type=none, o=bind[,ro…], device=/abs/path).
// Others are refused at create.
#ifndef BERTH_SERVICES_VOLUMES_LOCAL_H_
#define BERTH_SERVICES_VOLUMES_LOCAL_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::volumes {

using Options = std::map<std::string, std::string>;

inline constexpr char kLocalDriver[] = "local";

// Labels the CLI writes on a container record (docs/volumes.md): the names of the volumes it
// mounts, and of those among them made for it alone (anonymous), comma-separated. The daemon
// reads the first to tell who uses a volume, and removes the second with an auto_remove
// container.
inline constexpr char kVolumesLabel[] = "berth.io/volumes";
inline constexpr char kAnonymousVolumesLabel[] = "berth.io/anonymous-volumes";
// A spec annotation: a JSON array of the mount destinations whose volume must not be filled
// from the image (-v name:/path:nocopy, --mount volume-nocopy).
inline constexpr char kNoCopyAnnotation[] = "berth.io/volume-nocopy";

// <root>/volumes
std::string VolumesRoot(const std::string& root);
// <volumes_root>/<ns>/<name> and its _data.
std::string VolumeDir(const std::string& volumes_root, const std::string& ns,
                      const std::string& name);
std::string DataDir(const std::string& volumes_root, const std::string& ns,
                    const std::string& name);

// Docker's rule for local volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (so at least two
// characters), at most 255 bytes.
absl::Status ValidateVolumeName(absl::string_view name);

// The mount the options ask for; INVALID_ARGUMENT naming what is wrong.
struct LocalMount {
  std::string type;    // "tmpfs" or "bind"; empty: a plain directory
  std::string device;  // the bind's source
  unsigned long flags = 0;
  std::string data;  // filesystem options left after the flags
};
absl::StatusOr<LocalMount> ParseLocalOptions(const Options& options);

// Makes <name>/_data and writes opts.json when there are options.
absl::Status CreateVolumeDir(const std::string& volumes_root, const std::string& ns,
                             const std::string& name, const Options& options);

// Mounts the volume's filesystem on _data if its options ask for one and it is not mounted
// yet (a tmpfs, or a bind of a host directory). A volume without options: nothing to do.
absl::Status EnsureMounted(const std::string& volume_dir);

// Unmounts _data if something is mounted there, then removes the volume's directory.
absl::Status RemoveVolumeDir(const std::string& volume_dir);

// Whether `path` is a mount point (its st_dev differs from its parent's, or it is in
// /proc/self/mountinfo for a bind of the same filesystem).
bool IsMountPoint(const std::string& path);

}  // namespace berth::volumes

#endif  // BERTH_SERVICES_VOLUMES_LOCAL_H_
