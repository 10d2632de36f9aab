#include "services/check/checker.h"

#include <gtest/gtest.h>

namespace berth::check {
namespace {

TEST(LeftByInterruptedWork, UnpackAndCliContainerKeysOnly) {
  EXPECT_TRUE(LeftByInterruptedWork("extract-123 sha256:abc"));
  EXPECT_TRUE(LeftByInterruptedWork(std::string(64, 'a')));
  EXPECT_TRUE(
      LeftByInterruptedWork("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(LeftByInterruptedWork(std::string(64, 'A')));
  EXPECT_FALSE(LeftByInterruptedWork(std::string(63, 'a')));
  EXPECT_FALSE(LeftByInterruptedWork("my-rootfs"));
  EXPECT_FALSE(LeftByInterruptedWork("build-0011223344556677-3-run"));
  EXPECT_FALSE(LeftByInterruptedWork("sha256:" + std::string(64, 'a')));
}

}  // namespace
}  // namespace berth::check
