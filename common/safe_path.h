// Opening and creating paths strictly inside a directory tree, whatever symlinks in it say:
// openat2(2) with RESOLVE_IN_ROOT treats the tree's top as "/", so "..", absolute symlinks and
// relative symlinks all resolve inside it. Used wherever a path comes from an image or a spec
// (mount destinations in a rootfs, layer entries in a snapshot).
#ifndef BERTH_COMMON_SAFE_PATH_H_
#define BERTH_COMMON_SAFE_PATH_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace berth {

// openat2(root, rel, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). `rel` may start
// with "/"; it is taken inside root either way.
absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, const std::string& rel, int flags,
                                    mode_t mode = 0);

// Creates every missing directory of `rel` inside root (each step resolved in root) and
// returns an O_PATH fd of the last one.
absl::StatusOr<UniqueFd> MkdirAllInRoot(int root_fd, const std::string& rel, mode_t mode);

// Makes sure `rel` exists inside root as a directory (dir=true) or a regular file, creating
// parents as needed, and returns an O_PATH fd of it: a target to mount onto.
absl::StatusOr<UniqueFd> EnsureInRoot(int root_fd, const std::string& rel, bool dir, mode_t mode);

// "/proc/self/fd/N": lets path-based calls (mount, bind) act on what an fd refers to.
std::string FdPath(int fd);

}  // namespace berth

#endif  // BERTH_COMMON_SAFE_PATH_H_
