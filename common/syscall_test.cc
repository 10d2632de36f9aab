#include "common/syscall.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <string>

namespace berth {
namespace {

std::string TempDir() {
  std::string tmpl =
      std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") + "/syscall_test.XXXXXX";
  return mkdtemp(tmpl.data());
}

TEST(ErrnoStatus, NamesTheCallAndMapsTheCode) {
  absl::Status st = ErrnoStatus("mount(overlay, /x)", EINVAL);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "mount(overlay, /x): Invalid argument");
  EXPECT_EQ(ErrnoStatus("x", ENOENT).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus("x", EEXIST).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoStatus("x", ENOSPC).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus("x", EACCES).code(), absl::StatusCode::kPermissionDenied);
}

TEST(Sys, OpenMissingFileSaysWhich) {
  absl::StatusOr<UniqueFd> fd = sys::Open("/nonexistent/berth", O_RDONLY);
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(fd.status().message(), "open(/nonexistent/berth): No such file or directory");
}

TEST(Sys, MkdirAllCreatesParentsAndIsIdempotent) {
  std::string dir = TempDir() + "/a/b/c";
  ASSERT_TRUE(sys::MkdirAll(dir, 0755).ok());
  ASSERT_TRUE(sys::MkdirAll(dir, 0755).ok());
  struct stat st;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(Sys, MkdirAllOverAFileFails) {
  std::string file = TempDir() + "/f";
  ASSERT_TRUE(sys::WriteFileAtomic(file, "x", 0644).ok());
  absl::Status st = sys::MkdirAll(file + "/sub", 0755);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("Not a directory"), std::string::npos) << st;
}

TEST(Sys, WriteFileAtomicThenRead) {
  std::string file = TempDir() + "/state.json";
  ASSERT_TRUE(sys::WriteFileAtomic(file, "first", 0600).ok());
  ASSERT_TRUE(sys::WriteFileAtomic(file, "second", 0640).ok());
  absl::StatusOr<std::string> got = sys::ReadFile(file);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "second");
  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(Sys, RemoveIfExists) {
  std::string file = TempDir() + "/gone";
  EXPECT_TRUE(sys::RemoveIfExists(file).ok());
  ASSERT_TRUE(sys::WriteFileAtomic(file, "", 0600).ok());
  EXPECT_TRUE(sys::Exists(file));
  EXPECT_TRUE(sys::RemoveIfExists(file).ok());
  EXPECT_FALSE(sys::Exists(file));
  EXPECT_EQ(sys::Unlink(file).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace berth
