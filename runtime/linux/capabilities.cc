#include "runtime/linux/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/types/optional.h"
#include "common/capabilities.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "spdlog/spdlog.h"

namespace berth::runtime {
namespace {

absl::StatusOr<uint64_t> Mask(const std::vector<std::string>& names, const char* set,
                              uint64_t held) {
  uint64_t m = 0;
  for (const std::string& n : names) {
    absl::StatusOr<int> c = CapabilityNumber(n);
    if (!c.ok()) return Annotate(c.status(), absl::StrCat("process.capabilities.", set));
    if ((held & (1ULL << *c)) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "process.capabilities.", set, ": ", n,
          " is not in berth-runtime's own bounding set, so no process it starts can have it"));
    }
    m |= 1ULL << *c;
  }
  return m;
}

absl::optional<uint64_t> CapLine(const std::string& status, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, key)) continue;
    uint64_t v = 0;
    if (absl::SimpleHexAtoi(absl::StripAsciiWhitespace(line), &v)) return v;
  }
  return absl::nullopt;
}

}  // namespace

absl::StatusOr<uint64_t> OwnBoundingSet() {
  ASSIGN_OR_RETURN(std::string status, sys::ReadFile("/proc/self/status"));
  absl::optional<uint64_t> v = CapLine(status, "CapBnd:");
  if (!v) return absl::InternalError("no CapBnd line in /proc/self/status");
  return *v;
}

bool HasEffectiveCap(const std::string& proc_status, int cap) {
  absl::optional<uint64_t> v = CapLine(proc_status, "CapEff:");
  return v && (*v & (1ULL << cap)) != 0;
}

absl::StatusOr<CapabilityMasks> ResolveCapabilities(const Capabilities& caps) {
  ASSIGN_OR_RETURN(uint64_t held, OwnBoundingSet());
  CapabilityMasks m;
  ASSIGN_OR_RETURN(m.bounding, Mask(caps.bounding, "bounding", held));
  ASSIGN_OR_RETURN(m.effective, Mask(caps.effective, "effective", held));
  ASSIGN_OR_RETURN(m.permitted, Mask(caps.permitted, "permitted", held));
  ASSIGN_OR_RETURN(m.inheritable, Mask(caps.inheritable, "inheritable", held));
  ASSIGN_OR_RETURN(m.ambient, Mask(caps.ambient, "ambient", held));
  return m;
}

absl::Status ApplyBoundingSet(const CapabilityMasks& m) {
  for (int c = 0; c <= kLastCapability; ++c) {
    if (m.bounding & (1ULL << c)) continue;
    // EINVAL: the running kernel does not know this capability; nothing to drop.
    if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) {
      return ErrnoStatus(absl::StrCat("prctl(PR_CAPBSET_DROP, ", *CapabilityName(c), ")"), errno);
    }
  }
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    return ErrnoStatus("prctl(PR_SET_KEEPCAPS)", errno);
  return absl::OkStatus();
}

absl::Status ApplyCapabilitySets(const CapabilityMasks& m) {
  ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<uint32_t>(m.effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(m.permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(m.inheritable >> (32 * i));
  }
  if (::syscall(SYS_capset, &header, data) != 0) return ErrnoStatus("capset", errno);
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  // The kernel only lets a capability into the ambient set if it is permitted and
  // inheritable. Specs often list ambient without inheritable (runc's own default did); runc
  // skips those, and so does berth-runtime, rather than refuse the container.
  for (int c = 0; c <= kLastCapability; ++c) {
    if (!(m.ambient & (1ULL << c))) continue;
    if (!(m.permitted & m.inheritable & (1ULL << c))) {
      spdlog::debug("ambient {} skipped: not both permitted and inheritable", *CapabilityName(c));
      continue;
    }
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0) {
      return ErrnoStatus(absl::StrCat("prctl(PR_CAP_AMBIENT_RAISE, ", *CapabilityName(c), ")"),
                         errno);
    }
  }
  return absl::OkStatus();
}

}  // namespace berth::runtime
