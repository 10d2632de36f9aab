#include "runtime/cli/update.h"

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "runtime/container.h"

namespace berth::runtime::cli {
namespace {

using json = nlohmann::json;

struct Legacy {
  const char* flag;
  const char* object;  // under linux.resources
  const char* key;
  bool text = false;  // a string value (cpuset lists), not a number
};

constexpr Legacy kLegacy[] = {
    {"memory", "memory", "limit"},        {"memory-reservation", "memory", "reservation"},
    {"memory-swap", "memory", "swap"},    {"cpu-shares", "cpu", "shares"},
    {"cpu-quota", "cpu", "quota"},        {"cpu-period", "cpu", "period"},
    {"cpuset-cpus", "cpu", "cpus", true}, {"cpuset-mems", "cpu", "mems", true},
    {"pids-limit", "pids", "limit"},      {"blkio-weight", "blockIO", "weight"},
};

}  // namespace

std::vector<FlagSpec> UpdateFlags() {
  std::vector<FlagSpec> flags = {
      {{"resources", "r"}, true, false, "linux.resources JSON file, or - for stdin"}};
  for (const Legacy& l : kLegacy) {
    flags.push_back(
        {{l.flag}, true, false, absl::StrCat("sets linux.resources.", l.object, ".", l.key)});
  }
  return flags;
}

absl::StatusOr<std::string> UpdateResourcesJson(const Flags& f) {
  json r = json::object();
  if (f.Has("resources")) {
    std::string file = f.Get("resources");
    ASSIGN_OR_RETURN(std::string text, sys::ReadFile(file == "-" ? "/dev/stdin" : file));
    r = json::parse(text, nullptr, false);
    if (r.is_discarded() || !r.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat("--resources ", file, ": not a JSON object"));
    }
  }
  bool any = f.Has("resources");
  for (const Legacy& l : kLegacy) {
    if (!f.Has(l.flag)) continue;
    any = true;
    const std::string v = f.Get(l.flag);
    if (l.text) {
      r[l.object][l.key] = v;
      continue;
    }
    int64_t n = 0;
    if (!absl::SimpleAtoi(v, &n)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", l.flag, ": expected a number, got \"", v, "\""));
    }
    r[l.object][l.key] = n;
  }
  if (!any) {
    return absl::InvalidArgumentError("update needs --resources or at least one limit flag");
  }
  return r.dump();
}

absl::StatusOr<int> RunUpdate(StateStore& store, const Flags& f) {
  if (f.positional.size() != 1) return absl::InvalidArgumentError("a container id is required");
  ASSIGN_OR_RETURN(std::string resources, UpdateResourcesJson(f));
  RETURN_IF_ERROR(Update(store, f.positional[0], resources));
  return 0;
}

}  // namespace berth::runtime::cli
