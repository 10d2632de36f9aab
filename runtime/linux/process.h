// The last steps before a container process runs its program: identity, limits, working
// directory, environment, and the exec itself. Shared by the container's init and by exec.
#ifndef BERTH_RUNTIME_LINUX_PROCESS_H_
#define BERTH_RUNTIME_LINUX_PROCESS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/linux/capabilities.h"
#include "runtime/linux/seccomp.h"
#include "runtime/spec.h"

namespace berth::runtime {

// What confines a process beyond its identity, resolved by berth-runtime before the
// container exists so that bad values fail `create`, not the container.
struct ProcessSecurity {
  std::optional<CapabilityMasks> capabilities;  // unset: keep what the process has
  const SeccompFilter* seccomp = nullptr;
};

// In the order runc and crun use: rlimits and oom_score_adj; seccomp now if no_new_privs is
// off (loading then needs privilege); bounding set; groups, gid, uid; the other capability
// sets; umask; cwd (resolved inside the root, no magic links, entered as the target user);
// no_new_privs; seccomp now if no_new_privs is on (as late as possible).
absl::Status SetupProcess(const Process& process, const ProcessSecurity& security);

// Resolves process.capabilities, and the spec's seccomp profile, into ProcessSecurity parts.
absl::StatusOr<std::optional<CapabilityMasks>> ResolveProcessCapabilities(const Process& process);
// apparmorProfile and selinuxLabel are refused: this runtime applies neither.
absl::Status CheckLsmLabels(const Process& process);

// Finds args[0] on the PATH of `env` (the container's, not ours) and execs it. Returns only
// on failure, with a message and the exit code a shell would give (127 not found, 126 not
// executable).
struct ExecFailure {
  absl::Status status;
  int exit_code = 127;
};
ExecFailure ExecProcess(const Process& process);

// "RLIMIT_NOFILE" → RLIMIT_NOFILE; INVALID_ARGUMENT naming the field for anything else.
absl::StatusOr<int> RlimitResource(const std::string& name);

// The PATH lookup alone, against a PATH string; exposed for tests.
std::vector<std::string> ExecCandidates(const std::string& program, const std::string& path_env);

// Closes (marks close-on-exec) every fd from `first` up.
void CloseFdsFrom(int first);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_PROCESS_H_
