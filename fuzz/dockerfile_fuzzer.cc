// The Dockerfile parser, the stage planner and the variable expander: what `berth build` does
// with a Dockerfile before anything runs. The Dockerfile comes from the build context, so from
// whoever asks for the build.
#include <map>
#include <string>

#include "fuzz/fuzz_target.h"
#include "services/build/dockerfile.h"
#include "services/build/shell_lex.h"
#include "services/build/stages.h"

BERTH_FUZZ_TARGET(FuzzDockerfile) {
  using namespace berth::build;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Dockerfile> df = ParseDockerfile(text, "Dockerfile");
  if (!df.ok()) return 0;
  const std::map<std::string, std::string> vars = {{"A", "1"}, {"B", "x y"}, {"EMPTY", ""}};
  const VarLookup lookup = MapLookup(vars);
  for (const Instruction& ins : df->instructions) {
    for (const std::string& arg : ins.args) {
      (void)ExpandWord(arg, lookup, df->escape);
      (void)ExpandWords(arg, lookup, df->escape);
      (void)ReferencedNames(arg, df->escape);
      (void)SplitWords(arg, df->escape);
    }
    for (const Instruction::Flag& f : ins.flags) (void)ExpandWord(f.value, lookup, df->escape);
    if (ins.keyword == "ONBUILD" && !ins.args.empty()) {
      (void)ParseInstruction(ins.args[0], ins.line, df->escape, "Dockerfile");
    }
  }
  absl::StatusOr<Plan> plan = MakePlan(*df, "Dockerfile");
  if (!plan.ok()) return 0;
  absl::StatusOr<std::map<std::string, std::string>> global =
      GlobalArgs(*plan, {{"A", "build-arg"}}, df->escape, "Dockerfile");
  if (!global.ok()) return 0;
  absl::StatusOr<int> target = FindTarget(*plan, "");
  if (!target.ok()) return 0;
  (void)NeededStages(*plan, *target, *global, df->escape, "Dockerfile");
  for (const Stage& s : plan->stages) {
    (void)StageRef(*plan, s.name, s.index, true);
    (void)StageRef(*plan, std::to_string(s.index), static_cast<int>(plan->stages.size()), true);
  }
  return 0;
}
