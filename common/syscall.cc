#include "common/syscall.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/path.h"
#include "common/status_macros.h"

namespace berth {

absl::StatusCode ErrnoToCode(int err) {
  switch (err) {
    case ENOENT:
    case ESRCH:
      return absl::StatusCode::kNotFound;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case EPERM:
    case EACCES:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case EINVAL:
    case ENAMETOOLONG:
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
      return absl::StatusCode::kInvalidArgument;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::StatusCode::kResourceExhausted;
    case EBUSY:
    case ENOTEMPTY:
      return absl::StatusCode::kFailedPrecondition;
    case EAGAIN:
    case EINTR:
      return absl::StatusCode::kUnavailable;
    case ENOSYS:
    case EOPNOTSUPP:
      return absl::StatusCode::kUnimplemented;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status ErrnoStatus(absl::string_view call, int err) {
  return absl::Status(ErrnoToCode(err), absl::StrCat(call, ": ", std::strerror(err)));
}

namespace sys {

absl::StatusOr<UniqueFd> Open(const std::string& path, int flags, mode_t mode) {
  int fd = RetryEintr([&] { return ::open(path.c_str(), flags | O_CLOEXEC, mode); });
  if (fd < 0) return ErrnoStatus(absl::StrCat("open(", path, ")"), errno);
  return UniqueFd(fd);
}

absl::Status Mkdir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) {
    return ErrnoStatus(absl::StrCat("mkdir(", path, ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status MkdirAll(const std::string& path, mode_t mode) {
  std::string clean = path::Clean(path);
  struct stat st;
  if (::stat(clean.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return ErrnoStatus(absl::StrCat("mkdir(", clean, ")"), ENOTDIR);
  }
  std::string parent = path::Dir(clean);
  if (parent != clean) RETURN_IF_ERROR(MkdirAll(parent, mode));
  if (::mkdir(clean.c_str(), mode) != 0 && errno != EEXIST) {
    return ErrnoStatus(absl::StrCat("mkdir(", clean, ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status Chmod(const std::string& path, mode_t mode) {
  if (::chmod(path.c_str(), mode) != 0) {
    return ErrnoStatus(absl::StrCat("chmod(", path, ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status Unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return ErrnoStatus(absl::StrCat("unlink(", path, ")"), errno);
  return absl::OkStatus();
}

absl::Status RemoveIfExists(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(absl::StrCat("unlink(", path, ")"), errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, Open(path, O_RDONLY));
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = RetryEintr([&] { return ::read(fd.get(), buf, sizeof(buf)); });
    if (n < 0) return ErrnoStatus(absl::StrCat("read(", path, ")"), errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

namespace {

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = RetryEintr([&] { return ::write(fd, data.data(), data.size()); });
    if (n < 0) return ErrnoStatus(absl::StrCat("write(", path, ")"), errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, mode_t mode,
                             Durability durability) {
  std::string tmp = absl::StrCat(path, ".tmp-", ::getpid());
  {
    ASSIGN_OR_RETURN(UniqueFd fd, Open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    absl::Status st = WriteAll(fd.get(), data, tmp);
    if (st.ok() && durability == Durability::kDurable && ::fsync(fd.get()) != 0) {
      st = ErrnoStatus(absl::StrCat("fsync(", tmp, ")"), errno);
    }
    if (st.ok() && ::fchmod(fd.get(), mode) != 0) {
      st = ErrnoStatus(absl::StrCat("fchmod(", tmp, ")"), errno);
    }
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(absl::StrCat("rename(", tmp, ", ", path, ")"), err);
  }
  return absl::OkStatus();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace sys
}  // namespace berth
