#include "common/capabilities.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace berth {
namespace {

// Index = capability number (linux/capability.h). A plain array: berth-runtime reads it in
// the container's init, where nothing should allocate that need not.
constexpr const char* kNames[] = {
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
static_assert(sizeof(kNames) / sizeof(kNames[0]) == kLastCapability + 1);

}  // namespace

absl::StatusOr<int> CapabilityNumber(absl::string_view name) {
  for (int i = 0; i <= kLastCapability; ++i) {
    if (name == kNames[i]) return i;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown capability: \"", name, "\""));
}

absl::StatusOr<std::string> CapabilityName(int number) {
  if (number < 0 || number > kLastCapability) {
    return absl::NotFoundError(absl::StrCat("capability ", number));
  }
  return std::string(kNames[number]);
}

absl::StatusOr<std::string> ParseCapability(absl::string_view text) {
  std::string name = absl::AsciiStrToUpper(text);
  if (name == "ALL") return name;
  if (!absl::StartsWith(name, "CAP_")) name = absl::StrCat("CAP_", name);
  absl::StatusOr<int> number = CapabilityNumber(name);
  if (!number.ok()) return number.status();
  return name;
}

std::vector<std::string> CapabilitiesInMask(uint64_t mask) {
  std::vector<std::string> out;
  for (int i = 0; i <= kLastCapability; ++i) {
    if (mask & (uint64_t{1} << i)) out.push_back(kNames[i]);
  }
  return out;
}

}  // namespace berth
