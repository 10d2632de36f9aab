#include "common/safe_path.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/syscall.h"

namespace berth {
namespace {

class SafePath : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/safe.XXXXXX";
    base_ = mkdtemp(tmpl.data());
    root_ = base_ + "/root";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((base_ + "/outside").c_str(), 0755), 0);
    root_fd_ = UniqueFd(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  std::string base_, root_;
  UniqueFd root_fd_;
};

TEST_F(SafePath, MkdirAllCreatesInside) {
  ASSERT_TRUE(MkdirAllInRoot(root_fd_.get(), "/a/b/c", 0755).ok());
  EXPECT_TRUE(sys::Exists(root_ + "/a/b/c"));
}

TEST_F(SafePath, AbsoluteSymlinkStaysInside) {
  ASSERT_EQ(symlink((base_ + "/outside").c_str(), (root_ + "/evil").c_str()), 0);
  ASSERT_TRUE(MkdirAllInRoot(root_fd_.get(), "/evil/x", 0755).ok());
  // "/evil" points at <base>/outside, which inside the root means <root><base>/outside.
  EXPECT_FALSE(sys::Exists(base_ + "/outside/x"));
  EXPECT_TRUE(sys::Exists(root_ + base_ + "/outside/x"));
}

TEST_F(SafePath, DotDotSymlinkStaysInside) {
  ASSERT_EQ(symlink("../../../../outside", (root_ + "/up").c_str()), 0);
  absl::StatusOr<UniqueFd> fd = EnsureInRoot(root_fd_.get(), "/up/file", false, 0644);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_FALSE(sys::Exists(base_ + "/outside/file"));
  EXPECT_TRUE(sys::Exists(root_ + "/outside/file"));
}

TEST_F(SafePath, EnsureFileAndFdPath) {
  absl::StatusOr<UniqueFd> fd = EnsureInRoot(root_fd_.get(), "etc/resolv.conf", false, 0644);
  ASSERT_TRUE(fd.ok()) << fd.status();
  char buf[4096];
  ssize_t n = readlink(FdPath(fd->get()).c_str(), buf, sizeof(buf) - 1);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, n), root_ + "/etc/resolv.conf");
}

}  // namespace
}  // namespace berth
