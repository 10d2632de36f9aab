// The overlayfs snapshotter: each snapshot is one directory, its parents are overlay lower
// layers. Mounts:
//   no parent            bind of its own fs (ro for a view)
//   a view of one parent ro bind of the parent's fs
//   otherwise            overlay, lowerdir = parents nearest first; an active snapshot adds
//                        upperdir = its fs and workdir = its work; always index=off and
//                        redirect_dir=off (the diff reads only the upper dir)
#ifndef BERTH_SNAPSHOTTER_OVERLAYFS_OVERLAYFS_H_
#define BERTH_SNAPSHOTTER_OVERLAYFS_OVERLAYFS_H_

#include <memory>
#include <string>

#include "snapshotter/storage/layered.h"

namespace berth::snapshotter {

class OverlaySnapshotter final : public LayeredSnapshotter {
 public:
  // `root` is this snapshotter's own root (<berth root>/snapshots/overlayfs).
  static absl::StatusOr<std::unique_ptr<OverlaySnapshotter>> Open(const std::string& root);

  // Exposed for tests: the mounts of a snapshot, given its ref.
  std::vector<Mount> MountsFor(const SnapshotRef& ref) const override;

 protected:
  absl::Status MakeSnapshotDir(const SnapshotRef& ref, const std::string& dir) override;
  absl::Status OnCommit(const SnapshotRef& ref) override;
};

// Whether this kernel can mount overlay (a quick probe of /proc/filesystems).
bool OverlaySupported();

}  // namespace berth::snapshotter

#endif  // BERTH_SNAPSHOTTER_OVERLAYFS_OVERLAYFS_H_
