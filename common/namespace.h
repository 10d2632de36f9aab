// Namespaces partition a daemon's objects between tenants. Every request names its namespace
// in the gRPC metadata key `berth-namespace`; without one it is "default".
#ifndef BERTH_COMMON_NAMESPACE_H_
#define BERTH_COMMON_NAMESPACE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth {

inline constexpr char kNamespaceMetadataKey[] = "berth-namespace";
inline constexpr char kDefaultNamespace[] = "default";

// A namespace is 1..76 characters of letters and digits, with single '.', '_' or '-' between
// them: it becomes a directory name and a cgroup name, so nothing else is allowed.
absl::Status ValidateNamespace(absl::string_view name);

}  // namespace berth

#endif  // BERTH_COMMON_NAMESPACE_H_
