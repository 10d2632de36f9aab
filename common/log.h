// Process-wide logging on spdlog: a level, and either text lines or JSON lines (one object a
// line with "time", "level" and "msg"), to stderr or a file.
#ifndef BERTH_COMMON_LOG_H_
#define BERTH_COMMON_LOG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "spdlog/spdlog.h"

namespace berth {

struct LogOptions {
  std::string level = "info";   // trace, debug, info, warn, error, critical, off
  std::string format = "text";  // text | json
  std::string file;             // empty: stderr
};

absl::Status ValidateLogOptions(const LogOptions& options);
// Installs the default logger. Call once, early, from a binary's Main().
absl::Status InitLogging(const LogOptions& options);

// Escapes `s` for use inside a JSON string literal (without the quotes).
std::string JsonEscape(absl::string_view s);

}  // namespace berth

#endif  // BERTH_COMMON_LOG_H_
