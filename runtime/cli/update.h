// `update`: new limits for a running container, from --resources (LinuxResources JSON) and/or
// runc's legacy flags (--memory, --cpu-quota, --pids-limit, …); flags win over the file.
#ifndef BERTH_RUNTIME_CLI_UPDATE_H_
#define BERTH_RUNTIME_CLI_UPDATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/cli/flags.h"
#include "runtime/state.h"

namespace berth::runtime::cli {

std::vector<FlagSpec> UpdateFlags();
// The LinuxResources JSON that the flags (and the --resources file) describe.
absl::StatusOr<std::string> UpdateResourcesJson(const Flags& flags);
absl::StatusOr<int> RunUpdate(StateStore& store, const Flags& flags);

}  // namespace berth::runtime::cli

#endif  // BERTH_RUNTIME_CLI_UPDATE_H_
