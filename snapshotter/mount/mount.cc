#include "snapshotter/mount/mount.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/unique_fd.h"

namespace berth::snapshotter {
namespace {

bool HasOption(const Mount& m, absl::string_view opt) {
  for (const std::string& o : m.options) {
    if (o == opt) return true;
  }
  return false;
}

absl::Status MountBind(const Mount& m, const std::string& target) {
  unsigned long flags = MS_BIND | (HasOption(m, "rbind") ? MS_REC : 0);
  if (::mount(m.source.c_str(), target.c_str(), nullptr, flags, nullptr) != 0) {
    return ErrnoStatus(absl::StrCat("mount(bind, ", m.source, ", ", target, ")"), errno);
  }
  if (HasOption(m, "ro")) {
    if (::mount("", target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
      int err = errno;
      ::umount2(target.c_str(), MNT_DETACH);
      return ErrnoStatus(absl::StrCat("mount(remount ro, ", target, ")"), err);
    }
  }
  return absl::OkStatus();
}

// Returns UNIMPLEMENTED when the kernel lacks fsopen or "lowerdir+", so the caller falls back.
absl::Status MountOverlayNewApi(const Mount& m, const std::string& target) {
  UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) {
    if (errno == ENOSYS) return absl::UnimplementedError("fsopen");
    return ErrnoStatus("fsopen(overlay)", errno);
  }
  auto set = [&](const std::string& key, const std::string& value) -> absl::Status {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0) != 0) {
      int err = errno;
      if (key == "lowerdir+" && err == EINVAL) return absl::UnimplementedError("lowerdir+");
      return ErrnoStatus(absl::StrCat("fsconfig(overlay, ", key, "=", value, ")"), err);
    }
    return absl::OkStatus();
  };
  bool ro = false;
  for (const std::string& o : m.options) {
    if (absl::StartsWith(o, "lowerdir=")) {
      for (const std::string& l : LowerDirs(m)) RETURN_IF_ERROR(set("lowerdir+", l));
    } else if (o == "ro") {
      ro = true;
    } else if (o == "rw") {
      continue;
    } else {
      std::pair<std::string, std::string> kv = absl::StrSplit(o, absl::MaxSplits('=', 1));
      if (absl::StrContains(o, '=')) {
        RETURN_IF_ERROR(set(kv.first, kv.second));
      } else if (::fsconfig(fs.get(), FSCONFIG_SET_FLAG, o.c_str(), nullptr, 0) != 0) {
        return ErrnoStatus(absl::StrCat("fsconfig(overlay, ", o, ")"), errno);
      }
    }
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return ErrnoStatus(absl::StrCat("fsconfig(overlay, create) for ", target), errno);
  }
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, ro ? MOUNT_ATTR_RDONLY : 0));
  if (!mnt) return ErrnoStatus(absl::StrCat("fsmount(overlay) for ", target), errno);
  if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return ErrnoStatus(absl::StrCat("move_mount(overlay, ", target, ")"), errno);
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> LowerDirs(const Mount& m) {
  for (const std::string& o : m.options) {
    if (absl::StartsWith(o, "lowerdir=")) {
      return absl::StrSplit(o.substr(9), ':', absl::SkipEmpty());
    }
  }
  return {};
}

std::vector<std::string> RelativeOverlayOptions(const std::vector<std::string>& options,
                                                std::string* dir) {
  std::vector<std::string> paths;
  for (const std::string& o : options) {
    for (const char* k : {"lowerdir=", "upperdir=", "workdir="}) {
      if (!absl::StartsWith(o, k)) continue;
      for (absl::string_view p : absl::StrSplit(o.substr(strlen(k)), ':')) {
        paths.emplace_back(p);
      }
    }
  }
  auto dirname = [](const std::string& p) {
    size_t slash = p.rfind('/');
    return slash == std::string::npos || slash == 0 ? std::string("/") : p.substr(0, slash);
  };
  auto under = [](const std::string& p, const std::string& d) {
    return d == "/" ? absl::StartsWith(p, "/") : absl::StartsWith(p, d + "/");
  };
  std::string common = paths.empty() ? "/" : dirname(paths[0]);
  for (const std::string& p : paths) {
    while (common != "/" && !under(p, common)) common = dirname(common);
  }
  *dir = common;
  auto rel = [&](absl::string_view p) {
    if (common == "/") return std::string(p.substr(1));
    return std::string(p.substr(common.size() + 1));
  };
  std::vector<std::string> out;
  for (const std::string& o : options) {
    std::string r = o;
    for (const char* k : {"lowerdir=", "upperdir=", "workdir="}) {
      if (!absl::StartsWith(o, k)) continue;
      std::vector<std::string> parts;
      for (absl::string_view p : absl::StrSplit(o.substr(strlen(k)), ':')) parts.push_back(rel(p));
      r = absl::StrCat(k, absl::StrJoin(parts, ":"));
    }
    out.push_back(r);
  }
  return out;
}

absl::Status MountOverlayLegacy(const Mount& m, const std::string& target) {
  std::vector<std::string> opts;
  unsigned long flags = 0;
  for (const std::string& o : m.options) {
    if (o == "ro") {
      flags |= MS_RDONLY;
    } else if (o != "rw") {
      opts.push_back(o);
    }
  }
  std::string data = absl::StrJoin(opts, ",");
  const long page = ::sysconf(_SC_PAGESIZE);
  if (static_cast<long>(data.size()) < page) {
    if (::mount("overlay", target.c_str(), "overlay", flags, data.c_str()) != 0) {
      return ErrnoStatus(absl::StrCat("mount(overlay, ", target, ")"), errno);
    }
    return absl::OkStatus();
  }
  std::string dir;
  std::string rel = absl::StrJoin(RelativeOverlayOptions(opts, &dir), ",");
  if (static_cast<long>(rel.size()) >= page) {
    return absl::InvalidArgumentError(
        absl::StrCat("mount(overlay, ", target, "): options of ", rel.size(),
                     " bytes exceed a page even as "
                     "relative paths, and the kernel lacks lowerdir+"));
  }
  // chdir is per process: do it in a child so the daemon's threads are undisturbed. The child
  // only calls async-signal-safe functions.
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork(overlay mount helper)", errno);
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(errno);
    if (::mount("overlay", target.c_str(), "overlay", flags, rel.c_str()) != 0) ::_exit(errno);
    ::_exit(0);
  }
  int wstatus = 0;
  if (sys::RetryEintr([&] { return ::waitpid(pid, &wstatus, 0); }) < 0) {
    return ErrnoStatus("waitpid(overlay mount helper)", errno);
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return ErrnoStatus(absl::StrCat("mount(overlay, ", target, ") from ", dir),
                       WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : EIO);
  }
  return absl::OkStatus();
}

absl::Status MountAll(const std::vector<Mount>& mounts, const std::string& target) {
  for (const Mount& m : mounts) {
    if (m.type == "bind" || HasOption(m, "bind") || HasOption(m, "rbind")) {
      RETURN_IF_ERROR(MountBind(m, target));
    } else if (m.type == "overlay") {
      absl::Status st = MountOverlayNewApi(m, target);
      if (absl::IsUnimplemented(st)) st = MountOverlayLegacy(m, target);
      RETURN_IF_ERROR(st);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("mount of type \"", m.type, "\" onto ", target, " is not supported"));
    }
  }
  return absl::OkStatus();
}

absl::Status Unmount(const std::string& target, bool detach) {
  if (::umount2(target.c_str(), detach ? MNT_DETACH : 0) != 0) {
    return ErrnoStatus(absl::StrCat("umount2(", target, ")"), errno);
  }
  return absl::OkStatus();
}

}  // namespace berth::snapshotter
