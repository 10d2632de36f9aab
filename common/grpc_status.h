// Conversions between absl::Status and grpc::Status. The canonical codes share their numbers,
// so the code carries over unchanged and the message is kept whole.
#ifndef BERTH_COMMON_GRPC_STATUS_H_
#define BERTH_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace berth {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace berth

#endif  // BERTH_COMMON_GRPC_STATUS_H_
