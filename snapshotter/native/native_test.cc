#include "snapshotter/native/native.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/syscall.h"
#include "gtest/gtest.h"

namespace berth::snapshotter {
namespace {

TEST(NativeTest, ChildrenAreCopiesThatKeepEverything) {
  char tmpl[] = "/tmp/berth-native-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto s = NativeSnapshotter::Open(dir + "/native");
  ASSERT_TRUE(s.ok()) << s.status();
  auto m = (*s)->Prepare("a", "", {});
  ASSERT_TRUE(m.ok());
  const std::string fs = (*m)[0].source;
  ASSERT_TRUE(sys::MkdirAll(fs + "/bin", 0755).ok());
  ASSERT_TRUE(sys::WriteFileAtomic(fs + "/bin/tool", "#!/bin/sh\n", 0755).ok());
  const bool root = ::geteuid() == 0;
  if (root) {
    ASSERT_EQ(::lchown((fs + "/bin/tool").c_str(), 1234, 5678), 0);
  }
  // After chown, which clears setuid.
  ASSERT_EQ(::chmod((fs + "/bin/tool").c_str(), 04755), 0);
  ASSERT_EQ(::link((fs + "/bin/tool").c_str(), (fs + "/bin/alias").c_str()), 0);
  ASSERT_EQ(::symlink("tool", (fs + "/bin/sym").c_str()), 0);
  ASSERT_EQ(::setxattr((fs + "/bin/tool").c_str(), "user.k", "v", 1, 0), 0);
  ASSERT_TRUE((*s)->Commit("A", "a", {}).ok());

  m = (*s)->Prepare("b", "A", {});
  ASSERT_TRUE(m.ok());
  const std::string child = (*m)[0].source;
  EXPECT_NE(child, fs);
  struct stat st, st2;
  ASSERT_EQ(::lstat((child + "/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(st.st_nlink, 2u);
  if (root) {
    EXPECT_EQ(st.st_uid, 1234u);
  }
  ASSERT_EQ(::lstat((child + "/bin/alias").c_str(), &st2), 0);
  EXPECT_EQ(st.st_ino, st2.st_ino);
  char buf[8] = {};
  EXPECT_EQ(::getxattr((child + "/bin/tool").c_str(), "user.k", buf, sizeof(buf)), 1);
  char link[16] = {};
  EXPECT_EQ(::readlink((child + "/bin/sym").c_str(), link, sizeof(link)), 4);
  // Writing the child leaves the parent alone.
  ASSERT_TRUE(sys::WriteFileAtomic(child + "/bin/tool", "changed", 0755).ok());
  EXPECT_EQ(*sys::ReadFile(fs + "/bin/tool"), "#!/bin/sh\n");
  auto v = (*s)->View("v", "A", {});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[0].options[0], "ro");
  ::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace berth::snapshotter
