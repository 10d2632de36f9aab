// Copies a directory tree the way a layer must be copied: modes (setuid included), owners,
// xattrs, mtimes, symlinks, device nodes, fifos, and hardlinks kept as hardlinks. File data is
// reflinked (FICLONE) where the filesystem can, and copied with copy_file_range otherwise.
#ifndef BERTH_SNAPSHOTTER_NATIVE_COPY_H_
#define BERTH_SNAPSHOTTER_NATIVE_COPY_H_

#include <string>

#include "absl/status/status.h"

namespace berth::snapshotter {

// `dst` must exist and be empty; it takes `src`'s own mode, owner and xattrs too.
absl::Status CopyTree(const std::string& src, const std::string& dst);

}  // namespace berth::snapshotter

#endif  // BERTH_SNAPSHOTTER_NATIVE_COPY_H_
