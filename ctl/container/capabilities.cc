#include "ctl/container/capabilities.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace berth::ctl {
namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

struct Normalized {
  std::vector<std::string> caps;
  bool all = false;
};

absl::StatusOr<Normalized> Normalize(const std::vector<std::string>& names) {
  Normalized out;
  for (const std::string& name : names) {
    std::string c = absl::AsciiStrToUpper(name);
    if (c == "ALL") {
      out.all = true;
      continue;
    }
    if (!absl::StartsWith(c, "CAP_")) c = absl::StrCat("CAP_", c);
    if (!Contains(KnownCapabilities(), c)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown capability: \"", c, "\""));
    }
    if (!Contains(out.caps, c)) out.caps.push_back(c);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& DefaultCapabilities() {
  static const std::vector<std::string>* const kCaps = new std::vector<std::string>{
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE",
  };
  return *kCaps;
}

const std::vector<std::string>& KnownCapabilities() {
  // Index = capability number (linux/capability.h).
  static const std::vector<std::string>* const kCaps = new std::vector<std::string>{
      "CAP_CHOWN",
      "CAP_DAC_OVERRIDE",
      "CAP_DAC_READ_SEARCH",
      "CAP_FOWNER",
      "CAP_FSETID",
      "CAP_KILL",
      "CAP_SETGID",
      "CAP_SETUID",
      "CAP_SETPCAP",
      "CAP_LINUX_IMMUTABLE",
      "CAP_NET_BIND_SERVICE",
      "CAP_NET_BROADCAST",
      "CAP_NET_ADMIN",
      "CAP_NET_RAW",
      "CAP_IPC_LOCK",
      "CAP_IPC_OWNER",
      "CAP_SYS_MODULE",
      "CAP_SYS_RAWIO",
      "CAP_SYS_CHROOT",
      "CAP_SYS_PTRACE",
      "CAP_SYS_PACCT",
      "CAP_SYS_ADMIN",
      "CAP_SYS_BOOT",
      "CAP_SYS_NICE",
      "CAP_SYS_RESOURCE",
      "CAP_SYS_TIME",
      "CAP_SYS_TTY_CONFIG",
      "CAP_MKNOD",
      "CAP_LEASE",
      "CAP_AUDIT_WRITE",
      "CAP_AUDIT_CONTROL",
      "CAP_SETFCAP",
      "CAP_MAC_OVERRIDE",
      "CAP_MAC_ADMIN",
      "CAP_SYSLOG",
      "CAP_WAKE_ALARM",
      "CAP_BLOCK_SUSPEND",
      "CAP_AUDIT_READ",
      "CAP_PERFMON",
      "CAP_BPF",
      "CAP_CHECKPOINT_RESTORE",
  };
  return *kCaps;
}

std::vector<std::string> CapabilitiesInMask(uint64_t mask) {
  std::vector<std::string> out;
  const std::vector<std::string>& known = KnownCapabilities();
  for (size_t i = 0; i < known.size(); ++i) {
    if (mask & (uint64_t{1} << i)) out.push_back(known[i]);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> TweakCapabilities(const std::vector<std::string>& base,
                                                           const std::vector<std::string>& add,
                                                           const std::vector<std::string>& drop,
                                                           const std::vector<std::string>& all) {
  absl::StatusOr<Normalized> adds = Normalize(add);
  if (!adds.ok()) return adds.status();
  absl::StatusOr<Normalized> drops = Normalize(drop);
  if (!drops.ok()) return drops.status();
  std::vector<std::string> out;
  const auto push = [&](const std::string& c) {
    if (!Contains(out, c)) out.push_back(c);
  };
  if (adds->all) {
    for (const std::string& c : all) {
      if (!Contains(drops->caps, c)) push(c);
    }
  } else if (drops->all) {
    for (const std::string& c : adds->caps) push(c);
  } else {
    for (const std::string& c : base) {
      if (!Contains(drops->caps, c)) push(c);
    }
    for (const std::string& c : adds->caps) push(c);
  }
  return out;
}

}  // namespace berth::ctl
