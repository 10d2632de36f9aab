#include "services/leases/leases_service.h"

#include <gtest/gtest.h>

namespace berth::services {
namespace {

TEST(LeaseIds, AreBoundedAndPlain) {
  EXPECT_TRUE(ValidateLeaseId("pull-docker.io/library/busybox:latest").ok());
  EXPECT_EQ(ValidateLeaseId("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLeaseId(std::string(257, 'a')).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLeaseId("has space").code(), absl::StatusCode::kInvalidArgument);
}

TEST(LeaseResources, KnownTypesOnly) {
  EXPECT_TRUE(ValidateLeaseResource("content", "sha256:" + std::string(64, 'a')).ok());
  EXPECT_EQ(ValidateLeaseResource("content", "sha256:zz").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateLeaseResource("ingests", "any ref").ok());
  EXPECT_TRUE(ValidateLeaseResource("snapshots/overlayfs", "key").ok());
  EXPECT_EQ(ValidateLeaseResource("snapshots/", "key").code(), absl::StatusCode::kInvalidArgument);
  absl::Status st = ValidateLeaseResource("images", "x");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("unknown lease resource type \"images\""), std::string::npos);
}

}  // namespace
}  // namespace berth::services
