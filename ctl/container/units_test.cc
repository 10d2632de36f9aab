#include "ctl/container/units.h"

#include <gtest/gtest.h>

namespace berth::ctl {
namespace {

TEST(Units, HumanSizeAsGoUnits) {
  EXPECT_EQ(HumanSize4(0), "0B");
  EXPECT_EQ(HumanSize4(999), "999B");
  EXPECT_EQ(HumanSize4(1000), "1kB");
  EXPECT_EQ(HumanSize4(1024), "1.024kB");
  EXPECT_EQ(HumanSize4(4261234), "4.261MB");
  EXPECT_EQ(HumanSizeWithPrecision(4261234, 3), "4.26MB");
  EXPECT_EQ(HumanSize4(1e15), "1PB");
}

TEST(Units, BytesSizeAsGoUnits) {
  EXPECT_EQ(BytesSize(0), "0B");
  EXPECT_EQ(BytesSize(1023), "1023B");
  EXPECT_EQ(BytesSize(1024), "1KiB");
  EXPECT_EQ(BytesSize(1536 * 1024), "1.5MiB");
  EXPECT_EQ(BytesSize(25.0 * 1024 * 1024 * 1024), "25GiB");
  EXPECT_EQ(BytesSize(1024.0 * 1024 * 1024 * 1024 * 1024 * 1024 * 1024 * 1024 * 2048), "2048YiB");
}

}  // namespace
}  // namespace berth::ctl
