// `features` and `events`: what this runtime supports, and a container's cgroup statistics.
#include "runtime/cli/introspect.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/capabilities.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/version.h"

namespace berth::runtime::cli {
namespace {

using json = nlohmann::json;

// "key value" lines (cpu.stat, memory.stat, …) as a map; missing file → empty.
std::map<std::string, uint64_t> KeyValues(const std::string& file) {
  std::map<std::string, uint64_t> out;
  absl::StatusOr<std::string> text = sys::ReadFile(file);
  if (!text.ok()) return out;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> kv = absl::StrSplit(line, ' ');
    uint64_t v = 0;
    if (kv.size() == 2 && absl::SimpleAtoi(kv[1], &v)) out[std::string(kv[0])] = v;
  }
  return out;
}

// A single-number file; "max" and missing files give nullopt.
std::optional<uint64_t> Number(const std::string& file) {
  absl::StatusOr<std::string> text = sys::ReadFile(file);
  uint64_t v = 0;
  if (!text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &v)) return std::nullopt;
  return v;
}

}  // namespace

json Features() {
  return {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", kOciSpecVersion},
      {"hooks",
       {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions", {"async",         "atime",       "bind",        "defaults", "dev",
                        "diratime",      "dirsync",     "exec",        "mand",     "noatime",
                        "nodev",         "nodiratime",  "noexec",      "nomand",   "norelatime",
                        "nostrictatime", "nosuid",      "nosymfollow", "private",  "rbind",
                        "relatime",      "remount",     "ro",          "rprivate", "rshared",
                        "rslave",        "runbindable", "rw",          "shared",   "slave",
                        "strictatime",   "suid",        "symfollow",   "sync",     "unbindable"}},
      {"linux",
       {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
        {"capabilities", CapabilitiesInMask(~uint64_t{0})},
        {"cgroup", {{"v1", false}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions",
           {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
          {"operators",
           {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
            "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
          {"archs", {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}},
          {"supportedFlags",
           {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_TSYNC"}}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}}}},
      {"annotations", {{"io.github.berth.runtime.version", kVersion}}},
  };
}

json CgroupStats(const std::string& dir) {
  json data = json::object();
  std::map<std::string, uint64_t> cpu = KeyValues(path::Join(dir, "cpu.stat"));
  if (!cpu.empty()) {
    json usage = json::object();
    if (cpu.count("usage_usec")) usage["total"] = cpu["usage_usec"] * 1000;
    if (cpu.count("user_usec")) usage["user"] = cpu["user_usec"] * 1000;
    if (cpu.count("system_usec")) usage["kernel"] = cpu["system_usec"] * 1000;
    data["cpu"]["usage"] = usage;
    json throttling = json::object();
    if (cpu.count("nr_periods")) throttling["periods"] = cpu["nr_periods"];
    if (cpu.count("nr_throttled")) throttling["throttledPeriods"] = cpu["nr_throttled"];
    if (cpu.count("throttled_usec")) throttling["throttledTime"] = cpu["throttled_usec"] * 1000;
    if (!throttling.empty()) data["cpu"]["throttling"] = throttling;
  }
  if (std::optional<uint64_t> cur = Number(path::Join(dir, "memory.current"))) {
    data["memory"]["usage"]["usage"] = *cur;
    if (std::optional<uint64_t> max = Number(path::Join(dir, "memory.max"))) {
      data["memory"]["usage"]["limit"] = *max;
    }
    std::map<std::string, uint64_t> stat = KeyValues(path::Join(dir, "memory.stat"));
    if (!stat.empty()) data["memory"]["raw"] = stat;
  }
  if (std::optional<uint64_t> cur = Number(path::Join(dir, "pids.current"))) {
    data["pids"]["current"] = *cur;
    if (std::optional<uint64_t> max = Number(path::Join(dir, "pids.max")))
      data["pids"]["limit"] = *max;
  }
  if (absl::StatusOr<std::string> io = sys::ReadFile(path::Join(dir, "io.stat")); io.ok()) {
    json entries = json::array();
    for (absl::string_view line : absl::StrSplit(*io, '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.empty()) continue;
      json e = {{"device", std::string(f[0])}};
      for (size_t i = 1; i < f.size(); ++i) {
        std::vector<absl::string_view> kv = absl::StrSplit(f[i], '=');
        uint64_t v = 0;
        if (kv.size() == 2 && absl::SimpleAtoi(kv[1], &v)) e[std::string(kv[0])] = v;
      }
      entries.push_back(e);
    }
    data["blkio"]["entries"] = entries;
  }
  return data;
}

}  // namespace berth::runtime::cli
