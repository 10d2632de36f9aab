// The exit code Docker's CLI gives when a container's command cannot be run.
#ifndef BERTH_CTL_EXIT_CODES_H_
#define BERTH_CTL_EXIT_CODES_H_

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "ctl/client.h"

namespace berth::ctl {

// From the runtime's message on a failed start ("exec: \"x\": executable file not found in
// $PATH", "exec: \"/etc/passwd\": permission denied"): 127 when the command does not exist,
// 126 when it exists but cannot be executed, else 125 (berth's own failure).
inline int CommandExitCode(absl::string_view message) {
  if (!absl::StrContains(message, "exec")) return kExitBerth;
  if (absl::StrContains(message, "not found") || absl::StrContains(message, "no such file") ||
      absl::StrContains(message, "No such file")) {
    return 127;
  }
  if (absl::StrContains(message, "ermission denied") ||
      absl::StrContains(message, "not executable") ||
      absl::StrContains(message, "exec format error")) {
    return 126;
  }
  return kExitBerth;
}

}  // namespace berth::ctl

#endif  // BERTH_CTL_EXIT_CODES_H_
