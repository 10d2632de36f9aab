#include "snapshotter/native/copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/unique_fd.h"

namespace berth::snapshotter {
namespace {

using InodeMap = std::map<std::pair<dev_t, ino_t>, std::string>;

absl::Status CopyXattrs(const std::string& src, const std::string& dst) {
  ssize_t n = ::llistxattr(src.c_str(), nullptr, 0);
  if (n < 0) {
    if (errno == ENOTSUP) return absl::OkStatus();
    return ErrnoStatus(absl::StrCat("llistxattr(", src, ")"), errno);
  }
  std::string names(n, '\0');
  n = ::llistxattr(src.c_str(), names.data(), names.size());
  if (n < 0) return ErrnoStatus(absl::StrCat("llistxattr(", src, ")"), errno);
  for (size_t i = 0; i < static_cast<size_t>(n);) {
    const char* name = names.c_str() + i;
    i += strlen(name) + 1;
    ssize_t vn = ::lgetxattr(src.c_str(), name, nullptr, 0);
    if (vn < 0) return ErrnoStatus(absl::StrCat("lgetxattr(", src, ", ", name, ")"), errno);
    std::string value(vn, '\0');
    vn = ::lgetxattr(src.c_str(), name, value.data(), value.size());
    if (vn < 0) return ErrnoStatus(absl::StrCat("lgetxattr(", src, ", ", name, ")"), errno);
    if (::lsetxattr(dst.c_str(), name, value.data(), vn, 0) != 0) {
      return ErrnoStatus(absl::StrCat("lsetxattr(", dst, ", ", name, ")"), errno);
    }
  }
  return absl::OkStatus();
}

absl::Status CopyData(const std::string& src, const std::string& dst, const struct stat& st) {
  ASSIGN_OR_RETURN(UniqueFd in, sys::Open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  ASSIGN_OR_RETURN(UniqueFd out,
                   sys::Open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (::ioctl(out.get(), FICLONE, in.get()) == 0) return absl::OkStatus();
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sys::RetryEintr(
        [&] { return ::copy_file_range(in.get(), nullptr, out.get(), nullptr, left, 0); });
    if (n < 0) return ErrnoStatus(absl::StrCat("copy_file_range(", src, ", ", dst, ")"), errno);
    if (n == 0) break;  // the source shrank meanwhile
    left -= n;
  }
  return absl::OkStatus();
}

// Owner, mode (after chown, which clears setuid) and times, then xattrs.
absl::Status CopyMetadata(const std::string& src, const std::string& dst, const struct stat& st) {
  if (::lchown(dst.c_str(), st.st_uid, st.st_gid) != 0) {
    return ErrnoStatus(absl::StrCat("lchown(", dst, ")"), errno);
  }
  if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) != 0) {
    return ErrnoStatus(absl::StrCat("chmod(", dst, ")"), errno);
  }
  RETURN_IF_ERROR(CopyXattrs(src, dst));
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(absl::StrCat("utimensat(", dst, ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status CopyEntry(const std::string& src, const std::string& dst, InodeMap& links);

absl::Status CopyDir(const std::string& src, const std::string& dst, InodeMap& links) {
  DIR* d = ::opendir(src.c_str());
  if (d == nullptr) return ErrnoStatus(absl::StrCat("opendir(", src, ")"), errno);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const std::string& n : names) {
    RETURN_IF_ERROR(CopyEntry(src + "/" + n, dst + "/" + n, links));
  }
  return absl::OkStatus();
}

absl::Status CopyEntry(const std::string& src, const std::string& dst, InodeMap& links) {
  struct stat st;
  if (::lstat(src.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("lstat(", src, ")"), errno);
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    auto [it, fresh] = links.emplace(std::make_pair(st.st_dev, st.st_ino), dst);
    if (!fresh) {
      if (::link(it->second.c_str(), dst.c_str()) != 0) {
        return ErrnoStatus(absl::StrCat("link(", it->second, ", ", dst, ")"), errno);
      }
      return absl::OkStatus();
    }
  }
  switch (st.st_mode & S_IFMT) {
    case S_IFDIR:
      if (::mkdir(dst.c_str(), 0700) != 0) {
        return ErrnoStatus(absl::StrCat("mkdir(", dst, ")"), errno);
      }
      RETURN_IF_ERROR(CopyDir(src, dst, links));
      break;
    case S_IFREG:
      RETURN_IF_ERROR(CopyData(src, dst, st));
      break;
    case S_IFLNK: {
      std::string target(st.st_size + 1, '\0');
      ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoStatus(absl::StrCat("readlink(", src, ")"), errno);
      target.resize(n);
      if (::symlink(target.c_str(), dst.c_str()) != 0) {
        return ErrnoStatus(absl::StrCat("symlink(", target, ", ", dst, ")"), errno);
      }
      break;
    }
    default:  // devices, fifos, sockets
      if (::mknod(dst.c_str(), st.st_mode, st.st_rdev) != 0) {
        return ErrnoStatus(absl::StrCat("mknod(", dst, ")"), errno);
      }
  }
  return CopyMetadata(src, dst, st);
}

}  // namespace

absl::Status CopyTree(const std::string& src, const std::string& dst) {
  InodeMap links;
  struct stat st;
  if (::lstat(src.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("lstat(", src, ")"), errno);
  RETURN_IF_ERROR(CopyDir(src, dst, links));
  return CopyMetadata(src, dst, st);
}

}  // namespace berth::snapshotter
