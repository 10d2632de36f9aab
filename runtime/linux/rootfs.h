// The container's filesystem view, built inside its new mount namespace by the init process:
// the rootfs bound onto itself, the spec's mounts in order (each destination resolved inside
// the rootfs), /dev, then pivot_root (or MS_MOVE + chroot), masked and read-only paths.
#ifndef BERTH_RUNTIME_LINUX_ROOTFS_H_
#define BERTH_RUNTIME_LINUX_ROOTFS_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "runtime/spec.h"

namespace berth::runtime {

struct RootfsOptions {
  std::string rootfs;       // absolute path of the rootfs on the host
  bool no_pivot = false;    // --no-pivot: MS_MOVE + chroot instead of pivot_root
  bool in_user_ns = false;  // device nodes are bound from the host, not made with mknod
  // The cgroup the container lives in, for a "cgroup" mount without a cgroup namespace.
  std::string cgroup_dir;
  // Called with every mount in place, just before the root changes: where the prestart,
  // createRuntime and createContainer hooks run.
  std::function<absl::Status()> before_pivot;
};

// Everything up to and including the switch of root. Runs in the container's mount namespace.
absl::Status PrepareRootfs(const Spec& spec, const RootfsOptions& options);

// After the switch: masked and read-only paths, read-only root. /proc must be mounted by then.
absl::Status FinalizeRootfs(const Spec& spec);

// Writes linux.sysctl under /proc/sys, refusing keys outside the container's namespaces.
absl::Status ApplySysctl(const Spec& spec);
absl::Status ValidateSysctl(const Spec& spec);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_ROOTFS_H_
