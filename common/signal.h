// Signal names as users type them ("SIGTERM", "term", "15", "RTMIN+3") and as berth prints
// them. Shared by berth-runtime's `kill` and the CLI's `kill`/`stop`/`--stop-signal`.
#ifndef BERTH_COMMON_SIGNAL_H_
#define BERTH_COMMON_SIGNAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth {

// "SIGKILL", "kill", "9", "SIGRTMIN+3", "RTMAX-1" → the Linux signal number. Names are
// case-insensitive, with or without "SIG"; the aliases IOT, CLD and POLL are accepted.
// INVALID_ARGUMENT for 0, numbers past the last signal, and unknown names.
absl::StatusOr<int> ParseSignal(absl::string_view text);

// 15 → "SIGTERM", 37 → "SIGRTMIN+3", 64 → "SIGRTMAX"; a number it cannot name is printed as
// the number.
std::string SignalName(int signal);

}  // namespace berth

#endif  // BERTH_COMMON_SIGNAL_H_
