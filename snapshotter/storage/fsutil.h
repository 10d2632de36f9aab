// File-tree helpers for snapshotters: recursive removal that never crosses a mount, and disk
// usage of one layer directory.
#ifndef BERTH_SNAPSHOTTER_STORAGE_FSUTIL_H_
#define BERTH_SNAPSHOTTER_STORAGE_FSUTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

// rm -rf that stays on path's filesystem (a mount point inside is an error, not descended).
// A missing path is fine.
absl::Status RemoveAll(const std::string& path);

// Blocks (st_blocks * 512) and inodes under `path`, hardlinked inodes counted once.
absl::StatusOr<Usage> DiskUsage(const std::string& path);

}  // namespace berth::snapshotter

#endif  // BERTH_SNAPSHOTTER_STORAGE_FSUTIL_H_
