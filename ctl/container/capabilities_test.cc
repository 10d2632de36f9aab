#include "ctl/container/capabilities.h"

#include <gtest/gtest.h>

#include "common/capabilities.h"

namespace berth::ctl {
namespace {

using Caps = std::vector<std::string>;

TEST(Capabilities, DockerDefaults) {
  const Caps& caps = DefaultCapabilities();
  EXPECT_EQ(caps.size(), 14u);
  for (const std::string& c : caps) EXPECT_TRUE(CapabilityNumber(c).ok()) << c;
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
