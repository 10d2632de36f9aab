#include "runtime/cli/flags.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace berth::runtime::cli {

bool Flags::Has(const std::string& name) const {
  auto it = canonical_.find(name);
  return it != canonical_.end() && values_.count(it->second) > 0;
}

std::string Flags::Get(const std::string& name, const std::string& fallback) const {
  std::vector<std::string> all = GetAll(name);
  return all.empty() ? fallback : all.back();
}

std::vector<std::string> Flags::GetAll(const std::string& name) const {
  auto it = canonical_.find(name);
  if (it == canonical_.end()) return {};
  auto v = values_.find(it->second);
  return v == values_.end() ? std::vector<std::string>{} : v->second;
}

absl::StatusOr<bool> Flags::GetBool(const std::string& name) const {
  if (!Has(name)) return false;
  std::string v = Get(name);
  if (v.empty() || v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("--", name, ": expected true or false, got \"", v, "\""));
}

absl::StatusOr<int> Flags::GetInt(const std::string& name, int fallback) const {
  if (!Has(name)) return fallback;
  int v = 0;
  if (!absl::SimpleAtoi(Get(name), &v) || v < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": expected a non-negative integer, got \"", Get(name), "\""));
  }
  return v;
}

absl::StatusOr<Flags> ParseFlags(const std::vector<FlagSpec>& specs,
                                 const std::vector<std::string>& args, size_t* pos,
                                 bool positionals) {
  Flags f;
  for (const FlagSpec& s : specs) {
    for (const std::string& n : s.names) f.canonical_[n] = s.names.front();
  }
  while (*pos < args.size()) {
    const std::string& a = args[*pos];
    if (a == "--") {
      ++*pos;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;
    std::string body = a.substr(absl::StartsWith(a, "--") ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      value = body.substr(eq + 1);
      body = body.substr(0, eq);
      has_value = true;
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : specs) {
      for (const std::string& n : s.names) {
        if (n == body) spec = &s;
      }
    }
    if (spec == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag ", a));
    ++*pos;
    if (spec->takes_value && !has_value) {
      if (*pos >= args.size())
        return absl::InvalidArgumentError(absl::StrCat("flag ", a, " needs a value"));
      value = args[(*pos)++];
    }
    auto& slot = f.values_[spec->names.front()];
    if (!spec->repeated) slot.clear();
    slot.push_back(value);
  }
  if (positionals) {
    while (*pos < args.size()) f.positional.push_back(args[(*pos)++]);
  }
  return f;
}

std::string FlagsHelp(const std::vector<FlagSpec>& specs) {
  std::string out;
  for (const FlagSpec& s : specs) {
    std::vector<std::string> names;
    for (const std::string& n : s.names) names.push_back((n.size() == 1 ? "-" : "--") + n);
    absl::StrAppend(&out, "   ", absl::StrJoin(names, ", "), s.takes_value ? " value" : "", "\t",
                    s.help, "\n");
  }
  return out;
}

}  // namespace berth::runtime::cli
