// A parsed Dockerfile as stages: the global ARGs before the first FROM, then each FROM and the
// instructions under it. Which stages a target needs: itself and, transitively, the earlier
// stages it names in FROM or COPY --from (stages nothing needs are not built, as BuildKit
// does).
#ifndef BERTH_SERVICES_BUILD_STAGES_H_
#define BERTH_SERVICES_BUILD_STAGES_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "services/build/dockerfile.h"

namespace berth::build {

struct Stage {
  int index = 0;
  std::string name;  // lower case; "" when the FROM has no AS
  Instruction from;
  std::string base;  // the FROM's image word, unexpanded
  std::vector<Instruction> steps;
  // How messages name the stage: its name, else its index.
  std::string Label() const { return name.empty() ? std::to_string(index) : name; }
};

struct Plan {
  std::vector<Instruction> global_args;
  std::vector<Stage> stages;
};

// INVALID_ARGUMENT with the line: an instruction other than ARG before the first FROM, a FROM
// of the wrong shape, a bad or repeated stage name.
absl::StatusOr<Plan> MakePlan(const Dockerfile& df, absl::string_view name);

// The global build args: each global ARG's value from `build_args`, else its default (which
// may refer to earlier global args).
absl::StatusOr<std::map<std::string, std::string>> GlobalArgs(
    const Plan& plan, const std::map<std::string, std::string>& build_args, char escape,
    absl::string_view name);

// The stage `target` names (a stage name, case-insensitive); the last stage when empty.
// NOT_FOUND: `target stage "x" could not be found`.
absl::StatusOr<int> FindTarget(const Plan& plan, const std::string& target);

// An earlier stage (before `before`) that `ref` names: by name, or by index for COPY --from.
absl::optional<int> StageRef(const Plan& plan, const std::string& ref, int before,
                             bool allow_index);

// The stages to build for `target`, in order. FROM words and --from values are expanded with
// `global` (the global args).
absl::StatusOr<std::vector<int>> NeededStages(const Plan& plan, int target,
                                              const std::map<std::string, std::string>& global,
                                              char escape, absl::string_view name);

}  // namespace berth::build

#endif  // BERTH_SERVICES_BUILD_STAGES_H_
