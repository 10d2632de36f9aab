#include "ctl/container/timespec.h"

#include <gtest/gtest.h>

namespace berth::ctl {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

absl::Time Parse(const std::string& v, absl::TimeZone local = absl::UTCTimeZone()) {
  absl::StatusOr<absl::Time> t = ParseTimeSpec("since", v, kNow, local);
  EXPECT_TRUE(t.ok()) << v << ": " << t.status();
  return t.ok() ? *t : absl::InfinitePast();
}

TEST(ParseTimeSpec, Durations) {
  EXPECT_EQ(Parse("10m"), kNow - absl::Minutes(10));
  EXPECT_EQ(Parse("1h30m"), kNow - absl::Minutes(90));
  EXPECT_EQ(Parse("1.5s"), kNow - absl::Milliseconds(1500));
  EXPECT_EQ(Parse("250ms"), kNow - absl::Milliseconds(250));
}

TEST(ParseTimeSpec, Rfc3339Forms) {
  const absl::Time t = absl::FromUnixSeconds(1764324000);  // 2025-11-28T10:00:00Z
  EXPECT_EQ(Parse("2025-11-28T10:00:00Z"), t);
  EXPECT_EQ(Parse("2025-11-28T11:00:00+01:00"), t);
  EXPECT_EQ(Parse("2025-11-28T10:00:00.5Z"), t + absl::Milliseconds(500));
  EXPECT_EQ(Parse("2025-11-28T10:00"), t);
  EXPECT_EQ(Parse("2025-11-28T10"), t);
  EXPECT_EQ(Parse("2025-11-28"), t - absl::Hours(10));
  const absl::TimeZone plus2 = absl::FixedTimeZone(2 * 3600);
  EXPECT_EQ(Parse("2025-11-28T12:00:00", plus2), t);
}

TEST(ParseTimeSpec, UnixSeconds) {
  EXPECT_EQ(Parse("1764324000"), absl::FromUnixSeconds(1764324000));
  EXPECT_EQ(Parse("1764324000.25"), absl::FromUnixSeconds(1764324000) + absl::Milliseconds(250));
  EXPECT_EQ(Parse("0"), absl::UnixEpoch());
}

TEST(ParseTimeSpec, RefusesOthers) {
  for (const char* bad : {"", "yesterday", "10x", "inf", "2025-13-01", "1.", "1.1234567890"}) {
    absl::StatusOr<absl::Time> t = ParseTimeSpec("since", bad, kNow);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.status().message().find("invalid value for \"since\""), absl::string_view::npos);
  }
}

TEST(FormatRfc3339NanoFixed, NineDigitsAndZ) {
  const absl::Time t = absl::FromUnixSeconds(1764324000) + absl::Milliseconds(5);
  EXPECT_EQ(FormatRfc3339NanoFixed(t, absl::UTCTimeZone()), "2025-11-28T10:00:00.005000000Z");
  EXPECT_EQ(FormatRfc3339NanoFixed(t, absl::FixedTimeZone(3600)),
            "2025-11-28T11:00:00.005000000+01:00");
}

}  // namespace
}  // namespace berth::ctl
