#include "ctl/container/capabilities.h"

#include <gtest/gtest.h>

namespace berth::ctl {
namespace {

using Caps = std::vector<std::string>;

TEST(Capabilities, DockerDefaultsAndKnownNumbers) {
  EXPECT_EQ(DefaultCapabilities().size(), 14u);
  EXPECT_EQ(KnownCapabilities().size(), 41u);
  EXPECT_EQ(KnownCapabilities()[12], "CAP_NET_ADMIN");
  EXPECT_EQ(KnownCapabilities()[21], "CAP_SYS_ADMIN");
  EXPECT_EQ(KnownCapabilities()[24], "CAP_SYS_RESOURCE");
  EXPECT_EQ(KnownCapabilities()[40], "CAP_CHECKPOINT_RESTORE");
}

TEST(Capabilities, InMaskFollowsTheBoundingSet) {
  // This machine's CapBnd: everything up to 40 except CAP_SYS_RESOURCE.
  const Caps caps = CapabilitiesInMask(0x000001fffeffffffULL);
  EXPECT_EQ(caps.size(), 40u);
  EXPECT_EQ(std::find(caps.begin(), caps.end(), "CAP_SYS_RESOURCE"), caps.end());
  EXPECT_EQ(CapabilitiesInMask(0b101), Caps({"CAP_CHOWN", "CAP_DAC_READ_SEARCH"}));
  EXPECT_EQ(CapabilitiesInMask(~uint64_t{0}).size(), 41u);
}

TEST(Capabilities, AddAndDropAnySpelling) {
  const Caps base = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"};
  absl::StatusOr<Caps> caps =
      TweakCapabilities(base, {"net_admin", "CAP_SYS_PTRACE"}, {"NET_RAW", "cap_kill"}, {});
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_EQ(*caps, Caps({"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE"}));
  // Adding one already there does not repeat it.
  caps = TweakCapabilities(base, {"KILL"}, {}, {});
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(*caps, base);
  caps = TweakCapabilities(base, {}, {}, {});
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(*caps, base);
}

TEST(Capabilities, All) {
  const Caps base = {"CAP_CHOWN", "CAP_KILL"};
  const Caps all = {"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"};
  absl::StatusOr<Caps> caps = TweakCapabilities(base, {"ALL"}, {"kill"}, all);
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(*caps, Caps({"CAP_CHOWN", "CAP_SYS_ADMIN"}));
  caps = TweakCapabilities(base, {"net_admin"}, {"all"}, all);
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(*caps, Caps({"CAP_NET_ADMIN"}));
  caps = TweakCapabilities(base, {}, {"ALL"}, all);
  ASSERT_TRUE(caps.ok());
  EXPECT_TRUE(caps->empty());
}

TEST(Capabilities, UnknownIsAnError) {
  absl::StatusOr<Caps> caps = TweakCapabilities({}, {"FLY"}, {}, {});
  ASSERT_FALSE(caps.ok());
  EXPECT_EQ(caps.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(caps.status().message(), "unknown capability: \"CAP_FLY\"");
  EXPECT_FALSE(TweakCapabilities({}, {}, {"CAP_"}, {}).ok());
}

}  // namespace
}  // namespace berth::ctl
