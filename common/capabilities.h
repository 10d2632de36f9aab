// Linux capability names ↔ numbers. Shared by berth-runtime (process.capabilities, `features`)
// and the CLI (--cap-add, --cap-drop, --privileged); what each grants is its own policy.
#ifndef BERTH_COMMON_CAPABILITIES_H_
#define BERTH_COMMON_CAPABILITIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth {

// The highest capability number berth knows: CAP_CHECKPOINT_RESTORE (Linux 5.9).
inline constexpr int kLastCapability = 40;

// "CAP_NET_ADMIN" → 12, exactly as the OCI spec writes it (upper case, with "CAP_").
// INVALID_ARGUMENT (`unknown capability: "CAP_FOO"`) for a name Linux does not define.
absl::StatusOr<int> CapabilityNumber(absl::string_view name);

// 12 → "CAP_NET_ADMIN"; NOT_FOUND past kLastCapability.
absl::StatusOr<std::string> CapabilityName(int number);

// A name as users type it: case-insensitive, with or without "CAP_" ("net_admin",
// "CAP_NET_ADMIN") → "CAP_NET_ADMIN"; "all" in any case → "ALL". INVALID_ARGUMENT as for
// CapabilityNumber, naming the completed name.
absl::StatusOr<std::string> ParseCapability(absl::string_view text);

// The capabilities whose bit is set in `mask` (a CapBnd value), in number order. Bits past
// kLastCapability are ignored.
std::vector<std::string> CapabilitiesInMask(uint64_t mask);

}  // namespace berth

#endif  // BERTH_COMMON_CAPABILITIES_H_
