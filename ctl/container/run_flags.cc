#include "ctl/container/run_flags.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/path.h"

namespace berth::ctl {
namespace {

// Mount flags that tmpfs takes, by the group of which only the last one given counts.
struct FlagGroup {
  const char* group;
  std::vector<const char*> names;
};

const std::vector<FlagGroup>& TmpfsFlags() {
  static const std::vector<FlagGroup>* const kFlags = new std::vector<FlagGroup>{
      {"rdonly", {"ro", "rw"}},
      {"exec", {"exec", "noexec"}},
      {"suid", {"suid", "nosuid"}},
      {"dev", {"dev", "nodev"}},
      {"sync", {"sync", "async"}},
      {"dirsync", {"dirsync"}},
      {"mand", {"mand", "nomand"}},
      {"atime", {"atime", "noatime"}},
      {"diratime", {"diratime", "nodiratime"}},
      {"relatime", {"relatime", "norelatime"}},
      {"strictatime", {"strictatime", "nostrictatime"}},
      {"propagation",
       {"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
        "runbindable"}},
  };
  return *kFlags;
}

// tmpfs's own "key=value" options.
bool TmpfsData(absl::string_view key) {
  for (const char* k : {"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"}) {
    if (key == k) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<int64_t> ParseMemoryBytes(absl::string_view text) {
  const auto invalid = [&] {
    return absl::InvalidArgumentError(absl::StrCat("invalid size: '", text, "'"));
  };
  size_t i = 0;
  while (i < text.size() && (absl::ascii_isdigit(text[i]) || text[i] == '.')) ++i;
  const absl::string_view number = text.substr(0, i);
  absl::string_view unit = text.substr(i);
  double value = 0;
  if (number.empty() || !absl::ascii_isdigit(number.front()) ||
      !absl::ascii_isdigit(number.back()) || !absl::SimpleAtod(number, &value)) {
    return invalid();
  }
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  double multiplier = 1;
  if (!unit.empty()) {
    static constexpr absl::string_view kUnits = "kmgtp";
    if (const size_t u = kUnits.find(absl::ascii_tolower(unit.front()));
        u != absl::string_view::npos) {
      multiplier = std::pow(1024.0, static_cast<double>(u + 1));
      unit.remove_prefix(1);
    }
  }
  if (!unit.empty() && absl::ascii_tolower(unit.front()) == 'i') unit.remove_prefix(1);
  if (!unit.empty() && absl::ascii_tolower(unit.front()) == 'b') unit.remove_prefix(1);
  if (!unit.empty()) return invalid();
  const double bytes = value * multiplier;
  if (bytes >= static_cast<double>(std::numeric_limits<int64_t>::max())) return invalid();
  return static_cast<int64_t>(bytes);
}

absl::StatusOr<int64_t> ParseNanoCpus(absl::string_view text) {
  const auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to parse ", text, " as a rational number"));
  };
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('.', 1));
  absl::string_view whole = parts.first, frac = parts.second;
  if (whole.empty() && frac.empty()) return invalid();
  for (absl::string_view part : {whole, frac}) {
    for (char c : part) {
      if (!absl::ascii_isdigit(c)) return invalid();
    }
  }
  // Trailing zeros carry no precision.
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  if (frac.size() > 9) return absl::InvalidArgumentError("value is too precise");
  int64_t w = 0, f = 0;
  if (!whole.empty() && (!absl::SimpleAtoi(whole, &w) || w > 9'000'000'000)) return invalid();
  if (!frac.empty() && !absl::SimpleAtoi(frac, &f)) return invalid();
  for (size_t i = frac.size(); i < 9; ++i) f *= 10;
  return w * 1'000'000'000 + f;
}

absl::StatusOr<TmpfsMount> ParseTmpfs(absl::string_view flag) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(flag, absl::MaxSplits(':', 1));
  TmpfsMount m;
  m.destination = std::string(parts.first);
  if (!path::IsAbsolute(m.destination)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid mount path: '", m.destination, "' mount path must be absolute"));
  }
  m.destination = path::Clean(m.destination);
  if (m.destination == "/") {
    return absl::InvalidArgumentError("invalid mount path: '/' cannot be a tmpfs mount");
  }
  std::vector<std::string> options = {"noexec", "nosuid", "nodev", "rprivate"};
  if (!parts.second.empty()) {
    for (absl::string_view o : absl::StrSplit(parts.second, ',')) options.emplace_back(o);
  }
  // Docker's MergeTmpfsOptions: walk from the end, keeping the first (latest) of each kind.
  std::vector<std::string> seen, merged;
  for (auto it = options.rbegin(); it != options.rend(); ++it) {
    const std::string& o = *it;
    if (o == "defaults") continue;
    std::string kind;
    for (const FlagGroup& g : TmpfsFlags()) {
      for (const char* n : g.names) {
        if (o == n) kind = g.group;
      }
    }
    if (kind.empty()) {
      const size_t eq = o.find('=');
      if (eq == std::string::npos || !TmpfsData(absl::string_view(o).substr(0, eq))) {
        return absl::InvalidArgumentError(absl::StrCat("invalid tmpfs option \"", o, "\""));
      }
      kind = "=" + o.substr(0, eq);
    }
    if (std::find(seen.begin(), seen.end(), kind) != seen.end()) continue;
    seen.push_back(kind);
    merged.insert(merged.begin(), o);
  }
  m.options = std::move(merged);
  return m;
}

}  // namespace berth::ctl
