// A container's volumes, daemon-side, once its rootfs is mounted and before the runtime sees
// the spec (TaskManager::Create):
// - a volume whose local-driver options ask for a filesystem (tmpfs, a bind of a host
//   directory) gets it mounted on its _data at first use;
// - a volume that is empty is first filled with what the image has at the mount's
//   destination, with its ownership, modes, times, symlinks, hardlinks and device nodes, and
//   _data takes the mode and owner of that directory (Docker's copy-up). A destination listed
//   in the spec annotation berth.io/volume-nocopy is left alone;
// - a bind of a host path that does not exist is refused with a message naming it, rather than
//   left for the runtime to fail on.
// Only bind mounts whose source is <volumes_root>/<namespace>/<name>/_data count as volumes.
// The image's side is opened with openat2(RESOLVE_IN_ROOT) and walked without following any
// symlink, so an image cannot make the copy read outside its rootfs. Extended attributes are
// not copied.
#ifndef BERTH_SERVICES_TASKS_VOLUME_COPYUP_H_
#define BERTH_SERVICES_TASKS_VOLUME_COPYUP_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"

namespace berth::tasks {

absl::Status CopyUpVolumes(const std::string& rootfs, const nlohmann::json& spec,
                           const std::string& volumes_root);

// Copies the tree under the directory `src_dir` into the directory `dst_dir` (both open fds),
// never following a symlink on either side. Exposed for tests.
absl::Status CopyTree(int src_dir, int dst_dir);

}  // namespace berth::tasks

#endif  // BERTH_SERVICES_TASKS_VOLUME_COPYUP_H_
