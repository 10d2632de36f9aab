#include "ctl/container/restart_policy.h"

#include <gtest/gtest.h>

namespace berth::ctl {
namespace {

using Mode = RestartPolicy::Mode;

TEST(RestartPolicy, ParsesEveryMode) {
  EXPECT_EQ(*ParseRestartPolicy(""), (RestartPolicy{Mode::kNo, 0}));
  EXPECT_EQ(*ParseRestartPolicy("no"), (RestartPolicy{Mode::kNo, 0}));
  EXPECT_EQ(*ParseRestartPolicy("always"), (RestartPolicy{Mode::kAlways, 0}));
  EXPECT_EQ(*ParseRestartPolicy("unless-stopped"), (RestartPolicy{Mode::kUnlessStopped, 0}));
  EXPECT_EQ(*ParseRestartPolicy("on-failure"), (RestartPolicy{Mode::kOnFailure, 0}));
  EXPECT_EQ(*ParseRestartPolicy("on-failure:5"), (RestartPolicy{Mode::kOnFailure, 5}));
  EXPECT_EQ(*ParseRestartPolicy("always:0"), (RestartPolicy{Mode::kAlways, 0}));
}

TEST(RestartPolicy, ErrorsAsDocker) {
  auto message = [](const char* text) {
    return std::string(ParseRestartPolicy(text).status().message());
  };
  EXPECT_EQ(message("sometimes"), "invalid restart policy 'sometimes'");
  EXPECT_EQ(message("always:3"), "maximum retry count cannot be used with restart policy 'always'");
  EXPECT_EQ(message("unless-stopped:1"),
            "maximum retry count cannot be used with restart policy 'unless-stopped'");
  EXPECT_EQ(message("no:2"), "maximum retry count cannot be used with restart policy 'no'");
  EXPECT_EQ(message("on-failure:x"), "maximum retry count must be an integer");
  EXPECT_EQ(message("on-failure:"), "maximum retry count must be an integer");
  EXPECT_EQ(message("on-failure:-1"), "maximum retry count cannot be negative");
  EXPECT_EQ(message("on-failure:1:2"), "invalid restart policy format");
  EXPECT_EQ(ParseRestartPolicy("Always").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RestartPolicy, ToStringRoundTrips) {
  for (const char* text : {"no", "always", "unless-stopped", "on-failure", "on-failure:3"}) {
    absl::StatusOr<RestartPolicy> p = ParseRestartPolicy(text);
    ASSERT_TRUE(p.ok()) << text;
    EXPECT_EQ(p->ToString(), text);
  }
  EXPECT_EQ((RestartPolicy{Mode::kOnFailure, 0}).ToString(), "on-failure");
}

}  // namespace
}  // namespace berth::ctl
