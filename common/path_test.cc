#include "common/path.h"

#include <gtest/gtest.h>

namespace berth::path {
namespace {

TEST(Path, Clean) {
  EXPECT_EQ(Clean(""), ".");
  EXPECT_EQ(Clean("/"), "/");
  EXPECT_EQ(Clean("//a//b/./c/"), "/a/b/c");
  EXPECT_EQ(Clean("/a/b/../c"), "/a/c");
  EXPECT_EQ(Clean("/../../x"), "/x");
  EXPECT_EQ(Clean("a/../../b"), "../b");
  EXPECT_EQ(Clean("./"), ".");
}

TEST(Path, JoinNeverClimbsOutOfTheFirstPart) {
  EXPECT_EQ(Join("/root", "etc/passwd"), "/root/etc/passwd");
  EXPECT_EQ(Join("/root", "/etc/passwd"), "/root/etc/passwd");
  EXPECT_EQ(Join("/root", "../../etc"), "/root/etc");
  EXPECT_EQ(Join("/root", ""), "/root");
  EXPECT_EQ(Join("", "a/b"), "a/b");
}

TEST(Path, DirAndBase) {
  EXPECT_EQ(Dir("/a/b"), "/a");
  EXPECT_EQ(Dir("/a"), "/");
  EXPECT_EQ(Dir("a"), ".");
  EXPECT_EQ(Base("/a/b/"), "b");
  EXPECT_EQ(Base("/"), "/");
  EXPECT_EQ(Base("x"), "x");
}

TEST(Path, IsWithin) {
  EXPECT_TRUE(IsWithin("/a", "/a"));
  EXPECT_TRUE(IsWithin("/a", "/a/b"));
  EXPECT_FALSE(IsWithin("/a", "/ab"));
  EXPECT_FALSE(IsWithin("/a", "/a/../b"));
  EXPECT_TRUE(IsWithin("/", "/x"));
  EXPECT_FALSE(IsWithin("/", "x"));
}

TEST(Path, IsAbsolute) {
  EXPECT_TRUE(IsAbsolute("/x"));
  EXPECT_FALSE(IsAbsolute("x"));
  EXPECT_FALSE(IsAbsolute(""));
}

}  // namespace
}  // namespace berth::path
