#include "ctl/container/proc_table.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace berth::ctl {
namespace {

TEST(ProcTable, ReadsThisProcess) {
  absl::StatusOr<ProcClock> clock = ProcClock::Read();
  ASSERT_TRUE(clock.ok()) << clock.status();
  const int self = getpid();
  ProcTable t = ReadPsEf({self, 999999999}, *clock);
  EXPECT_EQ(t.titles,
            (std::vector<std::string>{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}));
  ASSERT_EQ(t.rows.size(), 1u);  // the pid that does not exist is left out
  EXPECT_EQ(t.rows[0][1], absl::StrCat(self));
  EXPECT_EQ(t.rows[0][2], absl::StrCat(getppid()));
  EXPECT_NE(t.rows[0][7].find("proc_table_test"), std::string::npos) << t.rows[0][7];
}

TEST(ProcTable, Formats) {
  const absl::Time now = absl::FromUnixSeconds(1764324000);  // 2025-11-28T10:00:00Z
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_EQ(PsStartTime(now - absl::Minutes(5), now, utc), "09:55");
  EXPECT_EQ(PsStartTime(now - absl::Hours(24 * 3), now, utc), "Nov25");
  EXPECT_EQ(PsStartTime(now - absl::Hours(24 * 400), now, utc), "2024");
  EXPECT_EQ(PsCpuTime(0), "00:00:00");
  EXPECT_EQ(PsCpuTime(3725), "01:02:05");
  EXPECT_EQ(PsCpuTime(90000), "1-01:00:00");
  EXPECT_EQ(PsTty(0), "?");
  EXPECT_EQ(PsTty((136 << 8) | 3), "pts/3");
  EXPECT_EQ(PsTty((4 << 8) | 1), "tty1");
}

TEST(ProcTable, FiltersPsOutput) {
  const std::string out =
      "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n"
      "root           1  0.0  0.0   1000   100 ?        Ss   10:00   0:00 /sbin/init\n"
      "root          42  0.0  0.0   1000   100 ?        S    10:00   0:00 sh -c sleep 100\n"
      "root          43  0.0  0.0   1000   100 ?        S    10:00   0:00 sleep 100\n";
  absl::StatusOr<ProcTable> t = FilterPsOutput(out, {42, 43});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->titles.size(), 11u);
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[0][1], "42");
  EXPECT_EQ(t->rows[0][10], "sh -c sleep 100");
  EXPECT_EQ(FilterPsOutput("USER COMMAND\nroot x\n", {1}).status().message(),
            "Couldn't find PID field in ps output");
}

}  // namespace
}  // namespace berth::ctl
