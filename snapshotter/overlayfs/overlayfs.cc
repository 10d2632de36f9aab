#include "snapshotter/overlayfs/overlayfs.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "snapshotter/storage/fsutil.h"

namespace berth::snapshotter {

absl::StatusOr<std::unique_ptr<OverlaySnapshotter>> OverlaySnapshotter::Open(
    const std::string& root) {
  std::unique_ptr<OverlaySnapshotter> s(new OverlaySnapshotter());
  RETURN_IF_ERROR(s->Init(root));
  return s;
}

absl::Status OverlaySnapshotter::MakeSnapshotDir(const SnapshotRef& ref, const std::string& dir) {
  RETURN_IF_ERROR(sys::Mkdir(dir + "/fs", 0755));
  if (ref.kind == Kind::kActive) RETURN_IF_ERROR(sys::Mkdir(dir + "/work", 0711));
  return absl::OkStatus();
}

absl::Status OverlaySnapshotter::OnCommit(const SnapshotRef& ref) {
  // Overlay leaves only its own bookkeeping in work/; a committed layer is never an upper dir.
  return RemoveAll(SnapshotDir(ref.id) + "/work");
}

std::vector<Mount> OverlaySnapshotter::MountsFor(const SnapshotRef& ref) const {
  const bool ro = ref.kind == Kind::kView;
  if (ref.parent_ids.empty()) {
    return {Mount{"bind", FsDir(ref.id), {ro ? "ro" : "rw", "rbind"}}};
  }
  if (ro && ref.parent_ids.size() == 1) {
    return {Mount{"bind", FsDir(ref.parent_ids[0]), {"ro", "rbind"}}};
  }
  std::vector<std::string> lowers;
  for (int64_t id : ref.parent_ids) lowers.push_back(FsDir(id));
  // redirect_dir=off: a directory renamed in the container is copied up whole (rename(2)
  // gives EXDEV and mv falls back to copy and delete) instead of becoming a redirect to its
  // lower path, so the upper dir alone is the layer's diff whatever the kernel's default;
  // it also keeps metacopy off.
  std::vector<std::string> opts = {"index=off", "redirect_dir=off"};
  if (ref.kind == Kind::kActive) {
    opts.push_back("workdir=" + SnapshotDir(ref.id) + "/work");
    opts.push_back("upperdir=" + FsDir(ref.id));
  } else {
    opts.push_back("ro");
  }
  opts.push_back("lowerdir=" + absl::StrJoin(lowers, ":"));
  return {Mount{"overlay", "overlay", opts}};
}

bool OverlaySupported() {
  absl::StatusOr<std::string> fs = sys::ReadFile("/proc/filesystems");
  return fs.ok() && absl::StrContains(*fs, "\toverlay\n");
}

}  // namespace berth::snapshotter
