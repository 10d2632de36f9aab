// `--restart no|always|on-failure[:N]|unless-stopped`, with Docker's rules and messages.
#ifndef BERTH_CTL_CONTAINER_RESTART_POLICY_H_
#define BERTH_CTL_CONTAINER_RESTART_POLICY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::ctl {

struct RestartPolicy {
  enum class Mode { kNo, kAlways, kOnFailure, kUnlessStopped };
  Mode mode = Mode::kNo;
  // on-failure only; 0 means no limit.
  int max_retries = 0;

  // The flag's own syntax, and the value of the berth.io/restart-policy label: "no",
  // "always", "on-failure", "on-failure:3", "unless-stopped".
  std::string ToString() const;
  bool operator==(const RestartPolicy&) const = default;
};

// "" is "no". INVALID_ARGUMENT with Docker's messages: "invalid restart policy 'sometimes'",
// "maximum retry count cannot be used with restart policy 'always'", "maximum retry count
// must be an integer", "maximum retry count cannot be negative", "invalid restart policy
// format".
absl::StatusOr<RestartPolicy> ParseRestartPolicy(absl::string_view text);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_RESTART_POLICY_H_
