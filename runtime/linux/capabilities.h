// process.capabilities: the five capability sets, applied in the order runc and crun use
// around the identity change: the bounding set is cut while still privileged, the other sets
// are kept across setuid (PR_SET_KEEPCAPS) and set exactly afterwards.
#ifndef BERTH_RUNTIME_LINUX_CAPABILITIES_H_
#define BERTH_RUNTIME_LINUX_CAPABILITIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/spec.h"

namespace berth::runtime {

struct CapabilityMasks {
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
};

// Turns the spec's names into masks (common/capabilities.h: names as the spec writes them,
// case-sensitive). A name the kernel does not know, or a capability that berth-runtime itself
// does not hold (so it could never grant it), is an error naming both.
absl::StatusOr<CapabilityMasks> ResolveCapabilities(const Capabilities& caps);

// Before the identity change: drop everything outside the bounding set, keep the rest across
// setuid.
absl::Status ApplyBoundingSet(const CapabilityMasks& masks);
// After the identity change: effective, permitted and inheritable exactly; then ambient.
absl::Status ApplyCapabilitySets(const CapabilityMasks& masks);

// This process's bounding set, from /proc/self/status (CapBnd).
absl::StatusOr<uint64_t> OwnBoundingSet();
// Whether a /proc/<pid>/status text shows `cap` in the effective set (CapEff).
bool HasEffectiveCap(const std::string& proc_status, int cap);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_CAPABILITIES_H_
