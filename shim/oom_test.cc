#include "shim/oom.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>

#include <fstream>
#include <string>

namespace berth::shim {
namespace {

TEST(Cgroup2, TheLastCgroup2MountWins) {
  const std::string mountinfo =
      "25 30 0:23 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n"
      "42 31 0:39 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "90 31 0:50 / /mnt/my\\040cg rw - cgroup2 none rw\n";
  absl::StatusOr<std::string> m = LastCgroup2Mount(mountinfo);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, "/mnt/my cg");
  EXPECT_EQ(LastCgroup2Mount("25 30 0:23 / /sys rw - sysfs sysfs rw\n").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(Cgroup2, UnifiedPathIsTheZeroLine) {
  absl::StatusOr<std::string> p =
      UnifiedCgroupPath("12:memory:/x\n1:name=systemd:/y\n0::/berth/c1\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, "/berth/c1");
  EXPECT_FALSE(UnifiedCgroupPath("12:memory:/x\n").ok());
}

TEST(Cgroup2, FlatKeyed) {
  EXPECT_EQ(FlatKeyed("low 0\nhigh 2\nmax 3\noom 4\noom_kill 5\n", "oom_kill"), 5u);
  EXPECT_EQ(FlatKeyed("oom 4\n", "oom_kill"), 0u);
}

// A stand-in for memory.events: inotify reports writes to a regular file as it does the
// kernel's notifications on the real one.
TEST(OomWatcher, ReportsOnlyIncreasesOfOomKill) {
  std::string dir = std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp");
  const std::string file = dir + "/memory.events";
  std::ofstream(file) << "oom 1\noom_kill 1\n";
  OomWatcher w;
  ASSERT_TRUE(w.WatchFile(file).ok());
  ASSERT_GE(w.fd(), 0);
  auto readable = [&] {
    pollfd p{.fd = w.fd(), .events = POLLIN, .revents = 0};
    return poll(&p, 1, 2000) == 1;
  };
  std::ofstream(file) << "oom 2\noom_kill 1\n";
  ASSERT_TRUE(readable());
  EXPECT_EQ(w.Check(), 0u) << "oom without a kill is not an OOM kill event";
  std::ofstream(file) << "oom 3\noom_kill 3\n";
  ASSERT_TRUE(readable());
  EXPECT_EQ(w.Check(), 2u);
  w.Stop();
  EXPECT_EQ(w.fd(), -1);
}

}  // namespace
}  // namespace berth::shim
