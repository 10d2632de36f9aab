#include "ctl/container/format.h"

#include <gtest/gtest.h>

#include "ctl/container/labels.h"

namespace berth::ctl {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

TEST(StatusText, AsDockerPs) {
  ContainerState s;
  EXPECT_EQ(StatusText(s, kNow), "Created");
  s.status = ContainerStatus::kRunning;
  s.started_at = kNow - absl::Minutes(3);
  EXPECT_EQ(StatusText(s, kNow), "Up 3 minutes");
  s.started_at = kNow - absl::Milliseconds(200);
  EXPECT_EQ(StatusText(s, kNow), "Up Less than a second");
  s.started_at = kNow - absl::Minutes(65);
  EXPECT_EQ(StatusText(s, kNow), "Up About an hour");
  s.status = ContainerStatus::kPaused;
  s.started_at = kNow - absl::Minutes(3);
  EXPECT_EQ(StatusText(s, kNow), "Up 3 minutes (Paused)");
  s.status = ContainerStatus::kExited;
  s.finished_at = kNow - absl::Seconds(2);
  s.exit_code = 0;
  EXPECT_EQ(StatusText(s, kNow), "Exited (0) 2 seconds ago");
  s.exit_code = 137;
  s.finished_at = kNow - absl::Hours(24 * 3);
  EXPECT_EQ(StatusText(s, kNow), "Exited (137) 3 days ago");
  s.status = ContainerStatus::kRestarting;
  s.exit_code = 1;
  s.finished_at = kNow - absl::Seconds(5);
  EXPECT_EQ(StatusText(s, kNow), "Restarting (1) 5 seconds ago");
  s.status = ContainerStatus::kRemoving;
  EXPECT_EQ(StatusText(s, kNow), "Removal In Progress");
  s.status = ContainerStatus::kDead;
  EXPECT_EQ(StatusText(s, kNow), "Dead");
}

TEST(StatusText, WithoutTimes) {
  ContainerState s;
  s.status = ContainerStatus::kRunning;
  EXPECT_EQ(StatusText(s, kNow), "Up");
  s.status = ContainerStatus::kExited;
  s.exit_code = 2;
  EXPECT_EQ(StatusText(s, kNow), "Exited (2)");
}

TEST(StateName, LowerCaseAsDocker) {
  EXPECT_EQ(StateName(ContainerStatus::kCreated), "created");
  EXPECT_EQ(StateName(ContainerStatus::kRunning), "running");
  EXPECT_EQ(StateName(ContainerStatus::kPaused), "paused");
  EXPECT_EQ(StateName(ContainerStatus::kExited), "exited");
  EXPECT_EQ(StateName(ContainerStatus::kRestarting), "restarting");
}

TEST(StateFromLabels, ExitedOnlyOnceItRan) {
  EXPECT_EQ(StateFromLabels({}).status, ContainerStatus::kCreated);
  EXPECT_EQ(StateFromLabels({{kLabelExitStatus, "3"}}).status, ContainerStatus::kCreated);
  ContainerState s = StateFromLabels({{kLabelStartedAt, "2027-01-15T08:00:00.123456789Z"},
                                      {kLabelExitedAt, "2027-01-15T08:00:05Z"},
                                      {kLabelExitStatus, "137"}});
  EXPECT_EQ(s.status, ContainerStatus::kExited);
  EXPECT_EQ(s.exit_code, 137);
  ASSERT_TRUE(s.started_at && s.finished_at);
  EXPECT_EQ(*s.finished_at - *s.started_at, absl::Nanoseconds(4876543211));
  EXPECT_EQ(StatusText(s, *s.finished_at + absl::Minutes(2)), "Exited (137) 2 minutes ago");
  // A malformed time is treated as absent.
  s = StateFromLabels({{kLabelStartedAt, "yesterday"}});
  EXPECT_EQ(s.status, ContainerStatus::kCreated);
}

TEST(Rfc3339, GoNanoFormInUtc) {
  const absl::Time t = absl::FromUnixSeconds(1800000000) + absl::Milliseconds(500);
  EXPECT_EQ(FormatRfc3339Nano(t), "2027-01-15T08:00:00.5Z");
  EXPECT_EQ(FormatRfc3339Nano(absl::FromUnixSeconds(1800000000)), "2027-01-15T08:00:00Z");
  EXPECT_EQ(FormatRfc3339Nano(absl::FromUnixNanos(1800000000000000001)),
            "2027-01-15T08:00:00.000000001Z");
  EXPECT_EQ(*ParseRfc3339(FormatRfc3339Nano(t)), t);
  EXPECT_EQ(*ParseRfc3339("2027-01-15T09:00:00.5+01:00"), t);
  EXPECT_FALSE(ParseRfc3339("2027-01-15 08:00:00").ok());
}

TEST(Ago, HumanDurationAgo) {
  EXPECT_EQ(Ago(kNow - absl::Minutes(2), kNow), "2 minutes ago");
  EXPECT_EQ(Ago(kNow - absl::Hours(24 * 14), kNow), "2 weeks ago");
}

TEST(Command, DockerPsColumn) {
  EXPECT_EQ(CommandLine({"sh", "-c", "echo hello world"}), "sh -c 'echo hello world'");
  EXPECT_EQ(CommandLine({}), "");
  EXPECT_EQ(PsCommand({"sh", "-c", "echo hello world"}, false), "\"sh -c 'echo hello w…\"");
  EXPECT_EQ(PsCommand({"sh", "-c", "echo hello world"}, true), "\"sh -c 'echo hello world'\"");
  EXPECT_EQ(PsCommand({"/bin/sh"}, false), "\"/bin/sh\"");
  // Exactly 20 code points stays whole.
  EXPECT_EQ(PsCommand({"12345678901234567890"}, false), "\"12345678901234567890\"");
  EXPECT_EQ(PsCommand({"123456789012345678901"}, false), "\"1234567890123456789…\"");
  EXPECT_EQ(PsCommand({"echo", "\"quoted\""}, false), "\"echo \\\"quoted\\\"\"");
}

TEST(Ellipsis, CountsCodePoints) {
  EXPECT_EQ(Ellipsis("héllo wörld", 20), "héllo wörld");
  EXPECT_EQ(Ellipsis("héllo wörld", 5), "héll…");
  EXPECT_EQ(Ellipsis("abc", 1), "a");
  EXPECT_EQ(Ellipsis("abc", 0), "");
  EXPECT_EQ(Ellipsis("abc", 3), "abc");
}

TEST(GoQuote, EscapesAsStrconvQuote) {
  EXPECT_EQ(GoQuote("plain"), "\"plain\"");
  EXPECT_EQ(GoQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(GoQuote("tab\tnl\ncr\r"), "\"tab\\tnl\\ncr\\r\"");
  EXPECT_EQ(GoQuote(std::string("\x01\x7f", 2)), "\"\\x01\\x7f\"");
  EXPECT_EQ(GoQuote("wörld…"), "\"wörld…\"");
  EXPECT_EQ(GoQuote("\xff"), "\"\\xff\"");
  EXPECT_EQ(GoQuote("\xc2\x85"), "\"\\u0085\"");
}

TEST(PsSize, RwAndVirtual) { EXPECT_EQ(PsSize(12, 4261897), "12B (virtual 4.26MB)"); }

}  // namespace
}  // namespace berth::ctl
