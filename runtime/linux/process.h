// The last steps before a container process runs its program: identity, limits, working
// directory, environment, and the exec itself. Shared by the container's init and by exec.
#ifndef BERTH_RUNTIME_LINUX_PROCESS_H_
#define BERTH_RUNTIME_LINUX_PROCESS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/spec.h"

namespace berth::runtime {

// rlimits, oom_score_adj, no_new_privs, groups, gid, uid, umask, cwd (in that order: the
// identity change comes after everything that needs privilege, and cwd is entered as the
// target user so its permissions are checked as that user).
absl::Status SetupProcess(const Process& process, bool set_groups);

// Finds args[0] on the PATH of `env` (the container's, not ours) and execs it. Returns only
// on failure, with a message and the exit code a shell would give (127 not found, 126 not
// executable).
struct ExecFailure {
  absl::Status status;
  int exit_code = 127;
};
ExecFailure ExecProcess(const Process& process);

// The PATH lookup alone, against a PATH string; exposed for tests.
std::vector<std::string> ExecCandidates(const std::string& program, const std::string& path_env);

// Closes (marks close-on-exec) every fd from `first` up.
void CloseFdsFrom(int first);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_PROCESS_H_
