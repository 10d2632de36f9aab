// Mounting what a snapshotter returns. Overlay mounts with many layers do not fit in one page
// of mount(2) data, so MountAll uses the new mount API (fsopen/fsconfig, one "lowerdir+" per
// layer, Linux 6.8+) and falls back to mount(2) with paths made relative to their common
// parent from a forked helper that chdirs there first (as containerd does).
#ifndef BERTH_SNAPSHOTTER_MOUNT_MOUNT_H_
#define BERTH_SNAPSHOTTER_MOUNT_MOUNT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

// Mounts each of `mounts` onto `target` in order (the usual case is one).
absl::Status MountAll(const std::vector<Mount>& mounts, const std::string& target);
// umount2(target); with `detach`, MNT_DETACH.
absl::Status Unmount(const std::string& target, bool detach = false);

// The fallback alone (mount(2), relative paths from a forked helper when the options exceed a
// page), as on kernels before 6.8. Exposed for tests.
absl::Status MountOverlayLegacy(const Mount& m, const std::string& target);

// The lowerdirs of an overlay mount's "lowerdir=a:b:c" option (nearest first); empty if none.
std::vector<std::string> LowerDirs(const Mount& m);

// Used by the fallback: rewrites lowerdir/upperdir/workdir relative to their longest common
// parent directory, which is returned in `dir`. Exposed for tests.
std::vector<std::string> RelativeOverlayOptions(const std::vector<std::string>& options,
                                                std::string* dir);

}  // namespace berth::snapshotter

#endif  // BERTH_SNAPSHOTTER_MOUNT_MOUNT_H_
