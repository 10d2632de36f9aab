#include "ctl/container/env.h"

#include <cstdlib>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth::ctl {
namespace {

absl::string_view KeyOf(absl::string_view entry) {
  return entry.substr(0, entry.find('='));  // the whole entry when it has no "="
}

bool ValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

absl::Status BadKey(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("poorly formatted environment: ", message));
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](const std::string& key) -> absl::optional<std::string> {
    const char* v = std::getenv(key.c_str());
    if (v == nullptr) return absl::nullopt;
    return std::string(v);
  };
}

absl::StatusOr<std::string> ResolveEnvFlag(absl::string_view flag, const EnvLookup& lookup) {
  const absl::string_view key = KeyOf(flag);
  if (key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid environment variable: ", flag));
  }
  if (key.size() < flag.size()) return std::string(flag);
  if (absl::optional<std::string> v = lookup(std::string(key))) return absl::StrCat(key, "=", *v);
  return std::string(flag);
}

absl::StatusOr<std::vector<std::string>> ParseEnvFile(absl::string_view name,
                                                      absl::string_view content,
                                                      const EnvLookup& lookup) {
  std::vector<std::string> out;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++number;
    if (!ValidUtf8(line)) {
      return absl::InvalidArgumentError(
          absl::StrCat("env file ", name, " contains invalid utf8 bytes at line ", number));
    }
    if (number == 1) absl::ConsumePrefix(&line, "\xEF\xBB\xBF");
    line = absl::StripLeadingAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    absl::string_view variable = line.substr(0, eq);
    while (!variable.empty() && (variable[0] == ' ' || variable[0] == '\t')) {
      variable.remove_prefix(1);
    }
    if (variable.find_first_of(" \t") != absl::string_view::npos) {
      return BadKey(absl::StrCat("variable '", variable, "' contains whitespaces"));
    }
    if (variable.empty()) return BadKey(absl::StrCat("no variable name on line '", line, "'"));
    if (eq != absl::string_view::npos) {
      out.push_back(absl::StrCat(variable, "=", line.substr(eq + 1)));
    } else if (absl::optional<std::string> v = lookup(std::string(variable))) {
      out.push_back(absl::StrCat(variable, "=", *v));
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ReadEnvFile(const std::string& path,
                                                     const EnvLookup& lookup) {
  ASSIGN_OR_RETURN(std::string content, sys::ReadFile(path));
  return ParseEnvFile(path, content, lookup);
}

std::vector<std::string> MergeEnv(std::vector<std::string> base,
                                  const std::vector<std::string>& overrides) {
  std::map<std::string, size_t, std::less<>> index;
  for (size_t i = 0; i < base.size(); ++i) index.emplace(std::string(KeyOf(base[i])), i);
  std::vector<bool> removed(base.size(), false);
  for (const std::string& o : overrides) {
    const absl::string_view key = KeyOf(o);
    auto it = index.find(key);
    if (key.size() == o.size()) {  // "K": unset
      if (it != index.end()) removed[it->second] = true;
      continue;
    }
    if (it != index.end()) {
      base[it->second] = o;
      removed[it->second] = false;
    } else {
      index.emplace(std::string(key), base.size());
      base.push_back(o);
      removed.push_back(false);
    }
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < base.size(); ++i) {
    if (!removed[i]) out.push_back(std::move(base[i]));
  }
  return out;
}

bool HasEnv(const std::vector<std::string>& env, absl::string_view key) {
  for (const std::string& e : env) {
    if (KeyOf(e) == key) return true;
  }
  return false;
}

}  // namespace berth::ctl
