#include "snapshotter/storage/fsutil.h"

#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/syscall.h"

namespace berth::snapshotter {
namespace {

// nftw takes a plain function pointer; these are per-thread so concurrent walks do not mix.
thread_local int remove_errno;
thread_local std::string* remove_failed;
thread_local std::set<std::pair<dev_t, ino_t>>* usage_seen;
thread_local Usage* usage_out;

int RemoveOne(const char* path, const struct stat*, int type, struct FTW*) {
  int rc = type == FTW_DP ? ::rmdir(path) : ::unlink(path);
  if (rc != 0 && errno != ENOENT) {
    remove_errno = errno;
    *remove_failed = path;
    return 1;
  }
  return 0;
}

int CountOne(const char*, const struct stat* st, int, struct FTW*) {
  if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
    if (!usage_seen->insert({st->st_dev, st->st_ino}).second) return 0;
  }
  usage_out->inodes++;
  usage_out->size += static_cast<int64_t>(st->st_blocks) * 512;
  return 0;
}

}  // namespace

absl::Status RemoveAll(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(absl::StrCat("lstat(", path, ")"), errno);
  }
  std::string failed;
  remove_failed = &failed;
  remove_errno = 0;
  int rc = ::nftw(path.c_str(), RemoveOne, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (rc != 0) {
    int err = remove_errno != 0 ? remove_errno : errno;
    return ErrnoStatus(absl::StrCat("remove(", failed.empty() ? path : failed, ")"), err);
  }
  return absl::OkStatus();
}

absl::StatusOr<Usage> DiskUsage(const std::string& path) {
  Usage usage;
  std::set<std::pair<dev_t, ino_t>> seen;
  usage_seen = &seen;
  usage_out = &usage;
  if (::nftw(path.c_str(), CountOne, 64, FTW_PHYS | FTW_MOUNT) != 0) {
    return ErrnoStatus(absl::StrCat("walk(", path, ")"), errno);
  }
  return usage;
}

}  // namespace berth::snapshotter
