#include "services/build/stages.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/build/shell_lex.h"

namespace berth::build {
namespace {

absl::Status Error(absl::string_view name, int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(name, ":", line, ": ", what));
}

bool ValidStageName(const std::string& s) {
  if (s.empty() || !absl::ascii_islower(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_islower(static_cast<unsigned char>(c)) ||
           absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

absl::StatusOr<Plan> MakePlan(const Dockerfile& df, absl::string_view name) {
  Plan plan;
  std::set<std::string> names;
  for (const Instruction& in : df.instructions) {
    if (in.keyword == "FROM") {
      Stage s;
      s.index = static_cast<int>(plan.stages.size());
      s.from = in;
      if (in.args.size() == 3 && absl::AsciiStrToLower(in.args[1]) == "as") {
        s.name = absl::AsciiStrToLower(in.args[2]);
        if (!ValidStageName(s.name)) {
          return Error(name, in.line,
                       absl::StrCat("invalid name for build stage: \"", in.args[2],
                                    "\", name can't start with a number or contain symbols"));
        }
        if (!names.insert(s.name).second) {
          return Error(name, in.line, absl::StrCat("duplicate stage name \"", s.name, "\""));
        }
      } else if (in.args.size() != 1) {
        return Error(name, in.line,
                     "FROM requires either one or three arguments (IMAGE [AS NAME])");
      }
      s.base = in.args[0];
      plan.stages.push_back(std::move(s));
      continue;
    }
    if (plan.stages.empty()) {
      if (in.keyword != "ARG") {
        return Error(name, in.line,
                     absl::StrCat("no build stage in current context: ", in.keyword,
                                  " before the first FROM (only ARG may come before it)"));
      }
      plan.global_args.push_back(in);
      continue;
    }
    plan.stages.back().steps.push_back(in);
  }
  if (plan.stages.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": no FROM instruction: nothing to build"));
  }
  return plan;
}

absl::StatusOr<std::map<std::string, std::string>> GlobalArgs(
    const Plan& plan, const std::map<std::string, std::string>& build_args, char escape,
    absl::string_view name) {
  std::map<std::string, std::string> out;
  for (const Instruction& in : plan.global_args) {
    for (const std::string& word : in.args) {
      const size_t eq = word.find('=');
      const std::string key = word.substr(0, eq);
      if (auto it = build_args.find(key); it != build_args.end()) {
        out[key] = it->second;
      } else if (eq != std::string::npos) {
        absl::StatusOr<std::string> v = ExpandWord(word.substr(eq + 1), MapLookup(out), escape);
        if (!v.ok()) return Error(name, in.line, v.status().message());
        out[key] = *v;
      }
    }
  }
  return out;
}

absl::StatusOr<int> FindTarget(const Plan& plan, const std::string& target) {
  if (target.empty()) return static_cast<int>(plan.stages.size()) - 1;
  const std::string want = absl::AsciiStrToLower(target);
  for (const Stage& s : plan.stages) {
    if (s.name == want) return s.index;
  }
  return absl::NotFoundError(absl::StrCat("target stage \"", target, "\" could not be found"));
}

absl::optional<int> StageRef(const Plan& plan, const std::string& ref, int before,
                             bool allow_index) {
  const std::string want = absl::AsciiStrToLower(ref);
  for (int i = 0; i < before && i < static_cast<int>(plan.stages.size()); ++i) {
    if (!plan.stages[i].name.empty() && plan.stages[i].name == want) return i;
  }
  int index = 0;
  if (allow_index && absl::SimpleAtoi(ref, &index) && index >= 0 && index < before) return index;
  return absl::nullopt;
}

absl::StatusOr<std::vector<int>> NeededStages(const Plan& plan, int target,
                                              const std::map<std::string, std::string>& global,
                                              char escape, absl::string_view name) {
  std::set<int> need = {target};
  std::vector<int> todo = {target};
  while (!todo.empty()) {
    const int i = todo.back();
    todo.pop_back();
    const Stage& s = plan.stages[i];
    auto add = [&](const std::string& word, int line, bool allow_index) -> absl::Status {
      absl::StatusOr<std::string> ref = ExpandWord(word, MapLookup(global), escape);
      if (!ref.ok()) return Error(name, line, ref.status().message());
      if (absl::optional<int> dep = StageRef(plan, *ref, i, allow_index); dep.has_value()) {
        if (need.insert(*dep).second) todo.push_back(*dep);
      } else if (allow_index) {
        int index = 0;
        if (absl::SimpleAtoi(*ref, &index)) {
          return Error(name, line,
                       absl::StrCat("COPY --from=", *ref, ": stage ", index,
                                    " is not an earlier stage (stages count from 0)"));
        }
      }
      return absl::OkStatus();
    };
    if (absl::Status st = add(s.base, s.from.line, false); !st.ok()) return st;
    for (const Instruction& in : s.steps) {
      if (in.keyword != "COPY") continue;
      if (const Instruction::Flag* f = in.FindFlag("from"); f != nullptr) {
        if (absl::Status st = add(f->value, in.line, true); !st.ok()) return st;
      }
    }
  }
  return std::vector<int>(need.begin(), need.end());
}

}  // namespace berth::build
