#include "ctl/container/restart_policy.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth::ctl {

std::string RestartPolicy::ToString() const {
  switch (mode) {
    case Mode::kNo:
      return "no";
    case Mode::kAlways:
      return "always";
    case Mode::kUnlessStopped:
      return "unless-stopped";
    case Mode::kOnFailure:
      return max_retries > 0 ? absl::StrCat("on-failure:", max_retries) : "on-failure";
  }
  return "no";
}

absl::StatusOr<RestartPolicy> ParseRestartPolicy(absl::string_view text) {
  RestartPolicy p;
  if (text.empty()) return p;
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  if (parts.size() > 2) return absl::InvalidArgumentError("invalid restart policy format");
  bool has_count = false;
  if (parts.size() == 2) {
    if (!absl::SimpleAtoi(parts[1], &p.max_retries)) {
      return absl::InvalidArgumentError("maximum retry count must be an integer");
    }
    has_count = true;
  }
  const absl::string_view name = parts[0];
  if (name == "no") {
    p.mode = RestartPolicy::Mode::kNo;
  } else if (name == "always") {
    p.mode = RestartPolicy::Mode::kAlways;
  } else if (name == "unless-stopped") {
    p.mode = RestartPolicy::Mode::kUnlessStopped;
  } else if (name == "on-failure") {
    p.mode = RestartPolicy::Mode::kOnFailure;
    if (p.max_retries < 0) {
      return absl::InvalidArgumentError("maximum retry count cannot be negative");
    }
    return p;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("invalid restart policy '", name, "'"));
  }
  // As Docker: "always:0" is accepted, any other count is not.
  if (has_count && p.max_retries != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("maximum retry count cannot be used with restart policy '", name, "'"));
  }
  return p;
}

}  // namespace berth::ctl
