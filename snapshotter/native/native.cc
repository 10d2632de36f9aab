#include "snapshotter/native/native.h"

#include "common/status_macros.h"
#include "common/syscall.h"
#include "snapshotter/native/copy.h"

namespace berth::snapshotter {

absl::StatusOr<std::unique_ptr<NativeSnapshotter>> NativeSnapshotter::Open(
    const std::string& root) {
  std::unique_ptr<NativeSnapshotter> s(new NativeSnapshotter());
  RETURN_IF_ERROR(s->Init(root));
  return s;
}

absl::Status NativeSnapshotter::MakeSnapshotDir(const SnapshotRef& ref, const std::string& dir) {
  RETURN_IF_ERROR(sys::Mkdir(dir + "/fs", 0755));
  if (ref.parent_ids.empty()) return absl::OkStatus();
  return CopyTree(FsDir(ref.parent_ids[0]), dir + "/fs");
}

std::vector<Mount> NativeSnapshotter::MountsFor(const SnapshotRef& ref) const {
  return {Mount{"bind", FsDir(ref.id), {ref.kind == Kind::kView ? "ro" : "rw", "rbind"}}};
}

}  // namespace berth::snapshotter
