// The native snapshotter: every snapshot is a full copy of its parent (reflinked where the
// filesystem can), for filesystems or kernels without overlay. Mounts are always a bind of the
// snapshot's own fs (ro for a view).
#ifndef BERTH_SNAPSHOTTER_NATIVE_NATIVE_H_
#define BERTH_SNAPSHOTTER_NATIVE_NATIVE_H_

#include <memory>
#include <string>

#include "snapshotter/storage/layered.h"

namespace berth::snapshotter {

class NativeSnapshotter final : public LayeredSnapshotter {
 public:
  static absl::StatusOr<std::unique_ptr<NativeSnapshotter>> Open(const std::string& root);
  std::vector<Mount> MountsFor(const SnapshotRef& ref) const override;

 protected:
  absl::Status MakeSnapshotDir(const SnapshotRef& ref, const std::string& dir) override;
};

}  // namespace berth::snapshotter

#endif  // BERTH_SNAPSHOTTER_NATIVE_NATIVE_H_
