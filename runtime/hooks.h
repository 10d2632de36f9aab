// OCI hooks: each runs with the container's state JSON on stdin, within its timeout. The
// caller decides what a failure means for its phase (the spec: prestart, createRuntime,
// createContainer and startContainer failures fail the operation; poststart and poststop
// failures are only logged).
#ifndef BERTH_RUNTIME_HOOKS_H_
#define BERTH_RUNTIME_HOOKS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/spec.h"

namespace berth::runtime {

// Runs `hooks` in order, stopping at the first failure, which names the phase, the hook's index
// and path, and what happened (exit status, signal or timeout) with its stderr.
absl::Status RunHooks(const std::vector<Hook>& hooks, const std::string& phase,
                      const std::string& state_json);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_HOOKS_H_
