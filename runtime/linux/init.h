// The container's first process, from clone3 until it execs the user's program. It runs in the
// new namespaces, in the container's cgroup, as a copy of berth-runtime (no re-exec):
//
//   [user ns: wait for the id maps] → join namespaces by path → new cgroup ns → rootfs and
//   pivot_root → hostname → sysctl, masked and read-only paths → setsid, console → "ready" to
//   the parent → wait on the start socket → rlimits, identity, cwd → exec.
#ifndef BERTH_RUNTIME_LINUX_INIT_H_
#define BERTH_RUNTIME_LINUX_INIT_H_

#include <string>
#include <vector>

#include "runtime/linux/process.h"
#include "runtime/spec.h"

namespace berth::runtime {

struct InitConfig {
  const Spec* spec = nullptr;
  std::string rootfs;
  std::string cgroup_dir;
  bool no_pivot = false;
  bool no_new_keyring = false;
  bool new_user_ns = false;
  int preserve_fds = 0;
  int sync_fd = -1;     // to the parent: setup result
  int start_fd = -1;    // listening socket that `start` connects to
  int console_fd = -1;  // connected console socket, when process.terminal
  ProcessSecurity security;
  // Ask the parent to run prestart/createRuntime hooks, and receive the state for ours.
  bool hooks = false;
  // Namespaces to join, as open fds, in the order to join them (user first).
  std::vector<std::pair<int, int>> join;  // {fd, CLONE_NEW* type}
};

// Never returns: the process becomes the container's program, or exits non-zero having
// reported why (to the parent during setup, to `start` and stderr after).
[[noreturn]] void RunInit(const InitConfig& config);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_INIT_H_
