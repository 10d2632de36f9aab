#include "runtime/linux/devices.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/path.h"
#include "common/safe_path.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth::runtime {
namespace {

absl::Status MakeDevice(int root_fd, const Device& d, bool in_user_ns) {
  const std::string dir = path::Dir(d.path);
  ASSIGN_OR_RETURN(UniqueFd parent, MkdirAllInRoot(root_fd, dir, 0755));
  const std::string name = path::Base(d.path);
  mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
  mode_t perm = d.file_mode.value_or(0666) & 07777;
  // Replace whatever the image had there: the spec decides what this path is.
  ::unlinkat(parent.get(), name.c_str(), 0);
  if (!in_user_ns) {
    if (::mknodat(parent.get(), name.c_str(), type | perm,
                  makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor))) != 0) {
      return ErrnoStatus(absl::StrCat("mknod(", d.path, ")"), errno);
    }
    if (::fchownat(parent.get(), name.c_str(), d.uid.value_or(0), d.gid.value_or(0),
                   AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(absl::StrCat("chown(", d.path, ")"), errno);
    }
    // mknod honours the umask; set the mode exactly.
    if (::fchmodat(parent.get(), name.c_str(), perm, 0) != 0) {
      return ErrnoStatus(absl::StrCat("chmod(", d.path, ")"), errno);
    }
    return absl::OkStatus();
  }
  // A user namespace may not mknod: bind the host's node instead.
  int fd = ::openat(parent.get(), name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  if (fd < 0) return ErrnoStatus(absl::StrCat("create(", d.path, ")"), errno);
  UniqueFd target(fd);
  if (::mount(d.path.c_str(), FdPath(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoStatus(absl::StrCat("mount(", d.path, ", bind)"), errno);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CreateDefaultDevices(int root_fd, bool in_user_ns) {
  static const Device kDefaults[] = {
      {.path = "/dev/null", .type = "c", .major = 1, .minor = 3, .file_mode = 0666},
      {.path = "/dev/zero", .type = "c", .major = 1, .minor = 5, .file_mode = 0666},
      {.path = "/dev/full", .type = "c", .major = 1, .minor = 7, .file_mode = 0666},
      {.path = "/dev/random", .type = "c", .major = 1, .minor = 8, .file_mode = 0666},
      {.path = "/dev/urandom", .type = "c", .major = 1, .minor = 9, .file_mode = 0666},
      {.path = "/dev/tty", .type = "c", .major = 5, .minor = 0, .file_mode = 0666},
  };
  for (const Device& d : kDefaults) RETURN_IF_ERROR(MakeDevice(root_fd, d, in_user_ns));
  return absl::OkStatus();
}

absl::Status CreateSpecDevices(int root_fd, const std::vector<Device>& devices, bool in_user_ns) {
  for (const Device& d : devices) {
    if (!path::IsWithin("/dev", d.path)) {
      return absl::InvalidArgumentError(
          absl::StrCat("linux.devices: ", d.path, " is not under /dev"));
    }
    RETURN_IF_ERROR(MakeDevice(root_fd, d, in_user_ns));
  }
  return absl::OkStatus();
}

absl::Status CreateDevSymlinks(int root_fd) {
  ASSIGN_OR_RETURN(UniqueFd dev, MkdirAllInRoot(root_fd, "/dev", 0755));
  std::vector<std::pair<const char*, const char*>> links = {
      {"/proc/self/fd", "fd"},
      {"/proc/self/fd/0", "stdin"},
      {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"},
  };
  if (sys::Exists("/proc/kcore")) links.push_back({"/proc/kcore", "core"});
  struct stat st;
  // ptmx must lead to the container's own devpts instance, when it has one.
  if (::fstatat(dev.get(), "pts/ptmx", &st, 0) == 0) {
    ::unlinkat(dev.get(), "ptmx", 0);
    links.push_back({"pts/ptmx", "ptmx"});
  }
  for (const auto& [target, name] : links) {
    if (::symlinkat(target, dev.get(), name) != 0 && errno != EEXIST) {
      return ErrnoStatus(absl::StrCat("symlink(/dev/", name, " -> ", target, ")"), errno);
    }
  }
  return absl::OkStatus();
}

}  // namespace berth::runtime
