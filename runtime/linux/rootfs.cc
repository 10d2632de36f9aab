#include "runtime/linux/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/path.h"
#include "common/safe_path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "runtime/linux/devices.h"
#include "runtime/linux/mount_options.h"

namespace berth::runtime {
namespace {

absl::Status DoMount(const std::string& source, const std::string& target, const std::string& type,
                     unsigned long flags, const std::string& data,
                     const std::string& shown_target) {
  if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
              type.empty() ? nullptr : type.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    return ErrnoStatus(
        absl::StrCat("mount(", type.empty() ? source : type, ", ", shown_target, ")"), errno);
  }
  return absl::OkStatus();
}

// Flags a bind remount must keep: the kernel refuses to drop "locked" ones that the source
// mount has (nodev, nosuid, noexec, ro in a user namespace).
unsigned long LockedFlags(const std::string& target) {
  struct statvfs st;
  if (::statvfs(target.c_str(), &st) != 0) return 0;
  unsigned long f = 0;
  if (st.f_flag & ST_NODEV) f |= MS_NODEV;
  if (st.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (st.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (st.f_flag & ST_RDONLY) f |= MS_RDONLY;
  return f;
}

bool IsDir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

absl::Status MountOne(int root_fd, const Mount& m, const RootfsOptions& opts) {
  MountOptions mo = ParseMountOptions(m.options);
  const std::string shown = path::Join(opts.rootfs, m.destination);
  std::string type = m.type;
  std::string source = m.source;
  if (mo.bind() && !source.empty() && !path::IsAbsolute(source)) {
    return absl::InvalidArgumentError(
        absl::StrCat("mount ", m.destination, ": bind source \"", source, "\" must be absolute"));
  }
  // A "cgroup" mount means the v1 hierarchies to runc; berth is a cgroup v2 runtime, so the
  // container gets cgroup2: its own cgroup, bound. That is what a fresh cgroup2 mount in its
  // cgroup namespace would show, and it costs far less (a new cgroup2 mount waits ~12 ms for
  // an RCU grace period here), and it works in a user namespace too.
  if (type == "cgroup" || type == "cgroup2") {
    type = "cgroup2";
    source = "cgroup2";
    if (!opts.cgroup_dir.empty()) {
      source = opts.cgroup_dir;
      mo.flags |= MS_BIND | MS_REC;
    }
  }
  const bool dir = mo.bind() ? IsDir(source) : true;
  ASSIGN_OR_RETURN(UniqueFd target, EnsureInRoot(root_fd, m.destination, dir, 0755));
  const std::string at = FdPath(target.get());

  if (mo.bind()) {
    RETURN_IF_ERROR(DoMount(source, at, "", mo.flags & (MS_BIND | MS_REC), "", shown));
    // Flags other than bind/rec only take effect on a remount of the new bind. Reopen the
    // target: it is now the mounted tree, not the directory under it.
    unsigned long rest = mo.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (rest != 0) {
      ASSIGN_OR_RETURN(UniqueFd top, OpenInRoot(root_fd, m.destination, O_PATH));
      const std::string top_at = FdPath(top.get());
      RETURN_IF_ERROR(
          DoMount("", top_at, "", MS_REMOUNT | MS_BIND | rest | LockedFlags(top_at), "", shown));
    }
  } else {
    RETURN_IF_ERROR(DoMount(source, at, type, mo.flags, mo.data, shown));
  }
  if (mo.propagation != 0) {
    ASSIGN_OR_RETURN(UniqueFd top, OpenInRoot(root_fd, m.destination, O_PATH));
    RETURN_IF_ERROR(DoMount("", FdPath(top.get()), "", mo.propagation, "", shown));
  }
  return absl::OkStatus();
}

absl::Status PivotRoot(const std::string& rootfs) {
  // pivot_root(".", ".") stacks the old root under the new one at "/"; detaching it from
  // there needs no temporary directory inside the rootfs.
  ASSIGN_OR_RETURN(UniqueFd oldroot, sys::Open("/", O_DIRECTORY | O_RDONLY));
  ASSIGN_OR_RETURN(UniqueFd newroot, sys::Open(rootfs, O_DIRECTORY | O_RDONLY));
  if (::fchdir(newroot.get()) != 0) return ErrnoStatus(absl::StrCat("chdir(", rootfs, ")"), errno);
  if (::syscall(SYS_pivot_root, ".", ".") != 0) {
    return ErrnoStatus(absl::StrCat("pivot_root(", rootfs, ")"), errno);
  }
  if (::fchdir(oldroot.get()) != 0) return ErrnoStatus("fchdir(old root)", errno);
  // Make the old root a slave so the detach does not propagate to the host.
  RETURN_IF_ERROR(DoMount("", ".", "", MS_SLAVE | MS_REC, "", "old root"));
  if (::umount2(".", MNT_DETACH) != 0) return ErrnoStatus("umount2(old root, MNT_DETACH)", errno);
  if (::chdir("/") != 0) return ErrnoStatus("chdir(/)", errno);
  return absl::OkStatus();
}

absl::Status MoveRoot(const std::string& rootfs) {
  if (::chdir(rootfs.c_str()) != 0) return ErrnoStatus(absl::StrCat("chdir(", rootfs, ")"), errno);
  RETURN_IF_ERROR(DoMount(rootfs, "/", "", MS_MOVE, "", "/"));
  if (::chroot(".") != 0) return ErrnoStatus(absl::StrCat("chroot(", rootfs, ")"), errno);
  if (::chdir("/") != 0) return ErrnoStatus("chdir(/)", errno);
  return absl::OkStatus();
}

bool HasMountAt(const Spec& spec, const std::string& dest) {
  for (const auto& m : spec.mounts) {
    if (path::Clean(m.destination) == dest) return true;
  }
  return false;
}

}  // namespace

absl::Status PrepareRootfs(const Spec& spec, const RootfsOptions& opts) {
  // Nothing done here may reach the host: make the whole tree a slave (or what the spec
  // asks) before the first mount.
  unsigned long prop = PropagationFlags(spec.linux.rootfs_propagation);
  if (prop == 0) prop = MS_SLAVE | MS_REC;
  RETURN_IF_ERROR(DoMount("", "/", "", prop, "", "/"));
  // pivot_root needs the new root to be a mount point.
  RETURN_IF_ERROR(DoMount(opts.rootfs, opts.rootfs, "", MS_BIND | MS_REC, "", opts.rootfs));

  ASSIGN_OR_RETURN(UniqueFd root_fd, sys::Open(opts.rootfs, O_PATH | O_DIRECTORY));
  for (const auto& m : spec.mounts) {
    absl::Status st = MountOne(root_fd.get(), m, opts);
    if (!st.ok()) return Annotate(st, absl::StrCat("mounting ", m.destination));
  }
  if (HasMountAt(spec, "/dev")) {
    RETURN_IF_ERROR(CreateDefaultDevices(root_fd.get(), opts.in_user_ns));
  }
  RETURN_IF_ERROR(CreateSpecDevices(root_fd.get(), spec.linux.devices, opts.in_user_ns));
  RETURN_IF_ERROR(CreateDevSymlinks(root_fd.get()));

  if (opts.before_pivot) RETURN_IF_ERROR(opts.before_pivot());
  // A shared rootfs cannot be pivoted; the spec may have asked for shared propagation of /.
  if (prop & MS_SHARED) {
    RETURN_IF_ERROR(DoMount("", opts.rootfs, "", MS_PRIVATE, "", opts.rootfs));
  }
  RETURN_IF_ERROR(opts.no_pivot ? MoveRoot(opts.rootfs) : PivotRoot(opts.rootfs));
  if (prop & MS_SHARED) RETURN_IF_ERROR(DoMount("", "/", "", prop, "", "/"));
  return absl::OkStatus();
}

// The /dev/null that masks files must be the null device itself. A rootfs whose /dev/null is a
// symlink or a regular file would otherwise decide what gets bound over the masked paths — a
// link to a writable host-facing file such as /proc/sys/kernel/core_pattern, say (the
// CVE-2025-31133 family).
absl::StatusOr<UniqueFd> OpenRealDevNull() {
  ASSIGN_OR_RETURN(UniqueFd fd, sys::Open("/dev/null", O_PATH | O_NOFOLLOW));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat(/dev/null)", errno);
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3) {
    return absl::FailedPreconditionError(
        "refusing to mask paths with the container's /dev/null: it is not the null device "
        "(1:3), it may be a link planted by the image");
  }
  return fd;
}

absl::Status FinalizeRootfs(const Spec& spec) {
  for (const std::string& p : spec.linux.readonly_paths) {
    if (!sys::Exists(p)) continue;
    RETURN_IF_ERROR(DoMount(p, p, "", MS_BIND | MS_REC, "", p));
    RETURN_IF_ERROR(
        DoMount("", p, "", MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC | LockedFlags(p), "", p));
  }
  UniqueFd null;
  for (const std::string& p : spec.linux.masked_paths) {
    // The target is opened without following a final symlink, and mounted through its fd.
    absl::StatusOr<UniqueFd> target = sys::Open(p, O_PATH | O_NOFOLLOW);
    if (!target.ok()) continue;
    struct stat st;
    if (::fstat(target->get(), &st) != 0 || S_ISLNK(st.st_mode)) continue;
    const std::string at = FdPath(target->get());
    if (S_ISDIR(st.st_mode)) {
      RETURN_IF_ERROR(DoMount("tmpfs", at, "tmpfs", MS_RDONLY, "size=0,mode=0755", p));
    } else {
      if (!null.valid()) {
        ASSIGN_OR_RETURN(null, OpenRealDevNull());
      }
      RETURN_IF_ERROR(DoMount(FdPath(null.get()), at, "", MS_BIND, "", p));
    }
  }
  if (spec.root_readonly) {
    RETURN_IF_ERROR(
        DoMount("", "/", "", MS_REMOUNT | MS_BIND | MS_RDONLY | LockedFlags("/"), "", "/"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSysctl(const Spec& spec) {
  for (const auto& [key, value] : spec.linux.sysctl) {
    const bool ipc = key == "kernel.msgmax" || key == "kernel.msgmnb" || key == "kernel.msgmni" ||
                     key == "kernel.sem" || key == "kernel.shmall" || key == "kernel.shmmax" ||
                     key == "kernel.shmmni" || key == "kernel.shm_rmid_forced" ||
                     absl::StartsWith(key, "fs.mqueue.");
    const bool net = absl::StartsWith(key, "net.");
    const bool uts = key == "kernel.hostname" || key == "kernel.domainname";
    std::string why;
    if (key.find('/') != std::string::npos || key.find("..") != std::string::npos) {
      why = "not a sysctl name";
    } else if (ipc && !spec.HasNamespace("ipc")) {
      why = "it needs a new ipc namespace";
    } else if (net &&
               (!spec.HasNamespace("network") || !spec.FindNamespace("network")->path.empty())) {
      why = "it needs a new network namespace";
    } else if (uts && !spec.HasNamespace("uts")) {
      why = "it needs a new uts namespace";
    } else if (!ipc && !net && !uts) {
      why = "it is not namespaced: setting it would change the host";
    }
    if (!why.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("linux.sysctl.", key, ": ", why));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplySysctl(const Spec& spec) {
  for (const auto& [key, value] : spec.linux.sysctl) {
    std::string file = "/proc/sys/" + absl::StrReplaceAll(key, {{".", "/"}});
    ASSIGN_OR_RETURN(UniqueFd fd, sys::Open(file, O_WRONLY | O_TRUNC));
    if (::write(fd.get(), value.data(), value.size()) < 0) {
      return ErrnoStatus(absl::StrCat("write(", file, ", \"", value, "\")"), errno);
    }
  }
  return absl::OkStatus();
}

}  // namespace berth::runtime
