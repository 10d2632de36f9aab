// What every service reads from a request's gRPC metadata: the namespace it acts in
// ("berth-namespace", default "default") and the lease that should hold what it creates
// ("berth-lease", optional).
#ifndef BERTH_SERVICES_COMMON_REQUEST_METADATA_H_
#define BERTH_SERVICES_COMMON_REQUEST_METADATA_H_

#include <grpcpp/server_context.h>

#include <string>

#include "absl/status/statusor.h"

namespace berth::services {

inline constexpr char kLeaseMetadataKey[] = "berth-lease";

// The validated namespace of the request; INVALID_ARGUMENT names a bad one, or several.
absl::StatusOr<std::string> RequestNamespace(const grpc::ServerContextBase& context);

// The lease id of the request, or "" when it names none.
absl::StatusOr<std::string> RequestLease(const grpc::ServerContextBase& context);

}  // namespace berth::services

#endif  // BERTH_SERVICES_COMMON_REQUEST_METADATA_H_
