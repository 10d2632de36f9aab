#include "services/daemon/root_lock.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace berth::daemon {
namespace {

TEST(RootLock, SecondHolderIsRefusedWithThePid) {
  std::string root = getenv("TEST_TMPDIR");
  absl::StatusOr<RootLock> first = RootLock::Acquire(root);
  ASSERT_TRUE(first.ok()) << first.status();
  // flock is per open file description, so a second Acquire in this process is refused too;
  // a child process shows the cross-process case.
  pid_t child = fork();
  if (child == 0) {
    absl::StatusOr<RootLock> second = RootLock::Acquire(root);
    bool ok =
        !second.ok() && second.status().code() == absl::StatusCode::kFailedPrecondition &&
        second.status().message().find("pid " + std::to_string(getppid())) != std::string::npos;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(RootLock, ReleasedWhenDropped) {
  std::string root = std::string(getenv("TEST_TMPDIR")) + "/r2";
  ASSERT_EQ(mkdir(root.c_str(), 0700), 0);
  { ASSERT_TRUE(RootLock::Acquire(root).ok()); }
  EXPECT_TRUE(RootLock::Acquire(root).ok());
}

}  // namespace
}  // namespace berth::daemon
