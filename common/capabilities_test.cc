#include "common/capabilities.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace berth {
namespace {

using Caps = std::vector<std::string>;

TEST(Capabilities, NamesAndNumbers) {
  EXPECT_EQ(*CapabilityNumber("CAP_CHOWN"), 0);
  EXPECT_EQ(*CapabilityNumber("CAP_NET_ADMIN"), 12);
  EXPECT_EQ(*CapabilityNumber("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(*CapabilityNumber("CAP_SYS_RESOURCE"), 24);
  EXPECT_EQ(*CapabilityNumber("CAP_CHECKPOINT_RESTORE"), kLastCapability);
  for (int c = 0; c <= kLastCapability; ++c) EXPECT_EQ(*CapabilityNumber(*CapabilityName(c)), c);
  EXPECT_EQ(CapabilityName(-1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CapabilityName(kLastCapability + 1).status().code(), absl::StatusCode::kNotFound);
}

TEST(Capabilities, NumberTakesTheSpecSpellingOnly) {
  for (const char* name : {"cap_net_admin", "NET_ADMIN", "CAP_", "", "ALL", "CAP_WARP_DRIVE"}) {
    absl::StatusOr<int> c = CapabilityNumber(name);
    ASSERT_FALSE(c.ok()) << name;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(CapabilityNumber("CAP_FLY").status().message(), "unknown capability: \"CAP_FLY\"");
}

TEST(Capabilities, ParseAnySpelling) {
  for (const char* text :
       {"net_admin", "NET_ADMIN", "cap_net_admin", "CAP_NET_ADMIN", "Net_Admin"}) {
    absl::StatusOr<std::string> c = ParseCapability(text);
    ASSERT_TRUE(c.ok()) << text << ": " << c.status();
    EXPECT_EQ(*c, "CAP_NET_ADMIN");
  }
  EXPECT_EQ(*ParseCapability("all"), "ALL");
  EXPECT_EQ(*ParseCapability("ALL"), "ALL");
  absl::StatusOr<std::string> c = ParseCapability("fly");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), "unknown capability: \"CAP_FLY\"");
  EXPECT_FALSE(ParseCapability("CAP_").ok());
  EXPECT_FALSE(ParseCapability("CAP_ALL").ok());
}

TEST(Capabilities, InMaskFollowsTheBoundingSet) {
  // This machine's CapBnd: everything up to 40 except CAP_SYS_RESOURCE.
  const Caps caps = CapabilitiesInMask(0x000001fffeffffffULL);
  EXPECT_EQ(caps.size(), 40u);
  EXPECT_EQ(std::find(caps.begin(), caps.end(), "CAP_SYS_RESOURCE"), caps.end());
  EXPECT_EQ(CapabilitiesInMask(0b101), Caps({"CAP_CHOWN", "CAP_DAC_READ_SEARCH"}));
  const Caps all = CapabilitiesInMask(~uint64_t{0});
  ASSERT_EQ(all.size(), 41u);
  EXPECT_EQ(all[12], "CAP_NET_ADMIN");
  EXPECT_EQ(all[40], "CAP_CHECKPOINT_RESTORE");
  EXPECT_TRUE(CapabilitiesInMask(0).empty());
}

}  // namespace
}  // namespace berth
