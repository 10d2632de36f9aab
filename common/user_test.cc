#include "common/user.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace berth {
namespace {

const UserFiles kFiles = {
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "\n"
    "  app:x:1000:1000:App,,,:/home/app:/bin/sh  \n"
    "broken:x:notanumber:0::/:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    "root:x:0:\n"
    "wheel:x:10:root,app\n"
    "staff:x:50:app\n"
    "app:x:1000:\n"
    "nogroup:x:65534:\n",
};

TEST(ResolveUser, EmptyIsRootWithItsHome) {
  absl::StatusOr<ExecUser> u = ResolveUser("", kFiles);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_EQ(u->home, "/root");
  EXPECT_EQ(u->additional_gids, std::vector<uint32_t>({10}));
}

TEST(ResolveUser, NamesFromPasswdAndGroup) {
  absl::StatusOr<ExecUser> u = ResolveUser("app", kFiles);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1000u);
  EXPECT_EQ(u->home, "/home/app");
  EXPECT_EQ(u->additional_gids, std::vector<uint32_t>({10, 50}));

  u = ResolveUser("app:staff", kFiles);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->gid, 50u);
  EXPECT_TRUE(u->additional_gids.empty());  // only in the implicit form

  u = ResolveUser("daemon:nogroup", kFiles);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 1u);
  EXPECT_EQ(u->gid, 65534u);
}

TEST(ResolveUser, NumbersNeedNoEntry) {
  absl::StatusOr<ExecUser> u = ResolveUser("1000", kFiles);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1000u);  // from the passwd entry
  EXPECT_EQ(u->home, "/home/app");

  u = ResolveUser("4242:4343", kFiles);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 4343u);
  EXPECT_EQ(u->home, "/");

  u = ResolveUser("4242", UserFiles{});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 0u);

  u = ResolveUser("1:50", UserFiles{});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->gid, 50u);

  u = ResolveUser(":50", kFiles);  // root, group staff
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->gid, 50u);
}

TEST(ResolveUser, UnknownNamesAreClearErrors) {
  absl::StatusOr<ExecUser> u = ResolveUser("ghost", kFiles);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(u.status().message(), "unable to find user ghost: no matching entries in passwd file");
  // Without a rootfs (or a passwd file) names cannot be resolved.
  u = ResolveUser("app", UserFiles{});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().message(), "unable to find user app: no matching entries in passwd file");
  u = ResolveUser("app:ghosts", kFiles);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().message(), "unable to find group ghosts: no matching entries in group file");
  // A malformed entry is not a match for uid 0 or its name.
  EXPECT_FALSE(ResolveUser("broken", kFiles).ok());
}

TEST(ResolveUser, IdRange) {
  EXPECT_EQ(ResolveUser("2147483648", kFiles).status().message(),
            "uids and gids must be in range 0-2147483647");
  EXPECT_FALSE(ResolveUser("-1", kFiles).ok());
  EXPECT_FALSE(ResolveUser("0:-5", kFiles).ok());
  EXPECT_TRUE(ResolveUser("2147483647", kFiles).ok());
}

class RootfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/user_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + root_).c_str()); }
  std::string root_;
};

TEST_F(RootfsTest, ReadsTheRootfsFiles) {
  ASSERT_EQ(mkdir((root_ + "/etc").c_str(), 0755), 0);
  std::ofstream(root_ + "/etc/passwd") << "app:x:7:8::/app:/bin/sh\n";
  absl::StatusOr<UserFiles> files = ReadUserFiles(root_);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_TRUE(files->passwd.has_value());
  EXPECT_FALSE(files->group.has_value());
  absl::StatusOr<ExecUser> u = ResolveUser("app", *files);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 7u);
  EXPECT_EQ(u->gid, 8u);
}

TEST_F(RootfsTest, SymlinksResolveInsideTheRootfs) {
  // An image's absolute and ".." symlinks lead to its own files, never to the host's.
  ASSERT_EQ(mkdir((root_ + "/real").c_str(), 0755), 0);
  std::ofstream(root_ + "/real/passwd") << "inside:x:5:5::/:/bin/sh\n";
  ASSERT_EQ(symlink("/real", (root_ + "/etc").c_str()), 0);
  // On the host this would be /etc/hostname; in the rootfs it is /real/hostname: missing.
  ASSERT_EQ(symlink("../../../../../etc/hostname", (root_ + "/real/group").c_str()), 0);
  absl::StatusOr<UserFiles> files = ReadUserFiles(root_);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_TRUE(files->passwd.has_value());
  EXPECT_EQ(*files->passwd, "inside:x:5:5::/:/bin/sh\n");
  EXPECT_FALSE(files->group.has_value());
}

TEST_F(RootfsTest, MissingRootfsIsAnError) { EXPECT_FALSE(ReadUserFiles(root_ + "/nope").ok()); }

}  // namespace
}  // namespace berth
