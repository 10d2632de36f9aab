// Load without leaks (docs/reliability.md): many containers run and are removed concurrently
// through the CLI, and what berthd holds on the host (its fds, the mounts under its root and
// state, the cgroups of the namespace, shims, active snapshots, veths) is the same before and
// after. BERTH_LOAD_CONTAINERS (default 50; the full form is 200) and BERTH_LOAD_WORKERS
// (default 8) size it, and BERTH_LOAD_ROUNDS (default 1) repeats it:
//   bazel test //e2e:load_test --test_env=BERTH_LOAD_CONTAINERS=200
// Needs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "e2e/reliability.h"

namespace berth::e2e {
namespace {

using Clock = std::chrono::steady_clock;

// VmRSS of `pid` in kB.
long RssKb(pid_t pid) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::vector<std::string> w = absl::StrSplit(line, ' ', absl::SkipEmpty());
      long kb = 0;
      if (w.size() >= 2 && absl::SimpleAtoi(w[1], &kb)) return kb;
    }
  }
  return 0;
}

// Runs `fn(i)` for i in [0, n) on `workers` threads; returns the seconds it took.
template <typename Fn>
double Concurrently(int n, int workers, Fn fn) {
  const auto t0 = Clock::now();
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (int i; (i = next++) < n;) fn(i);
    });
  }
  for (std::thread& t : threads) t.join();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The counts once berthd has finished what it does on its own after a removal (the exit
// handling of a managed container goes on after `rm -f` returns): the same twice in a row,
// 200 ms apart, or the last of 25 looks.
HostCounts Settled(const CliDaemon& d) {
  HostCounts last = Count(d);
  for (int i = 0; i < 25; ++i) {
    absl::SleepFor(absl::Milliseconds(200));
    HostCounts now = Count(d);
    if (now.Describe() == last.Describe()) return now;
    last = now;
  }
  return last;
}

TEST(LoadTest, ManyContainersRunAndGoWithoutLeaks) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const int n = EnvInt("BERTH_LOAD_CONTAINERS", 50);
  const int workers = EnvInt("BERTH_LOAD_WORKERS", 8);
  const int rounds = EnvInt("BERTH_LOAD_ROUNDS", 1);
  CliDaemon d("load");
  ASSERT_TRUE(d.started()) << d.Stderr();
  ASSERT_TRUE(d.LoadBusybox());
  // A first container opens what berthd then keeps open (the database, its channels).
  ASSERT_EQ(d.Berth({"run", "--rm", "busybox", "true"}).exit_code, 0);
  ASSERT_EQ(d.Berth({"run", "-d", "--name", "warm", "busybox", "sleep", "100"}).exit_code, 0);
  ASSERT_EQ(d.Berth({"rm", "-f", "warm"}).exit_code, 0);
  const pid_t berthd = d.DaemonPid();
  ASSERT_GT(berthd, 0);
  const HostCounts before = Settled(d);
  const long rss_before = RssKb(berthd);

  std::mutex mu;
  std::vector<std::string> errors;
  auto record = [&](const std::string& what, const CommandResult& r) {
    if (r.exit_code == 0) return;
    std::lock_guard<std::mutex> l(mu);
    errors.push_back(absl::StrCat(what, ": ", r.exit_code, " ", r.err));
  };
  std::cout << "load: " << n << " containers, " << workers << " workers, " << rounds
            << " round(s)\nload: before: " << before.Describe() << "; berthd RSS " << rss_before
            << " kB" << std::endl;
  for (int round = 1; round <= rounds; ++round) {
    const double run_s = Concurrently(n, workers, [&](int i) {
      const std::string name = absl::StrCat("l", i);
      record("run " + name, d.Berth({"run", "-d", "--name", name, "busybox", "sleep", "1000000"}));
    });
    ASSERT_TRUE(errors.empty()) << errors.size() << " failed, first: " << errors.front();
    const HostCounts during = Count(d);
    const long rss_during = RssKb(berthd);
    CommandResult ps = d.Berth({"ps", "-q"});
    EXPECT_EQ(static_cast<int>(std::count(ps.out.begin(), ps.out.end(), '\n')), n);
    EXPECT_EQ(during.shims - before.shims, n);
    EXPECT_EQ(during.cgroups - before.cgroups, n);
    EXPECT_EQ(during.mounts - before.mounts, n);
    EXPECT_EQ(during.snapshots - before.snapshots, n);

    const double rm_s = Concurrently(n, workers, [&](int i) {
      const std::string name = absl::StrCat("l", i);
      record("rm " + name, d.Berth({"rm", "-f", name}));
    });
    EXPECT_TRUE(errors.empty()) << errors.size() << " failed, first: " << errors.front();
    const HostCounts after = Settled(d);
    const long rss_after = RssKb(berthd);
    std::cout << "load: round " << round << ": run -d " << run_s << " s, rm -f " << rm_s
              << " s\nload:   during: " << during.Describe() << "; berthd RSS " << rss_during
              << " kB\nload:   after:  " << after.Describe() << "; berthd RSS " << rss_after
              << " kB" << std::endl;
    EXPECT_EQ(after.fds, before.fds);
    EXPECT_EQ(after.mounts, before.mounts);
    EXPECT_EQ(after.cgroups, before.cgroups);
    EXPECT_EQ(after.shims, before.shims);
    EXPECT_EQ(after.snapshots, before.snapshots);
    // Containers here have no network (TestDaemon's --default-network none), so they make no
    // veths; the host's count is printed, not compared, as other tests may be making theirs.
  }
  CommandResult check = d.Berth({"system", "check"});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  RecordProperty("containers", n);
}

}  // namespace
}  // namespace berth::e2e
