#include "common/grpc_status.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(GrpcStatus, RoundTripsCodeAndMessage) {
  absl::Status in = absl::FailedPreconditionError("container c1 is running");
  grpc::Status g = ToGrpcStatus(in);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(g.error_message(), "container c1 is running");
  EXPECT_EQ(FromGrpcStatus(g), in);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "x")).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace berth
