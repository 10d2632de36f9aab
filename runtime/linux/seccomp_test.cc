#include "runtime/linux/seccomp.h"

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/syscall.h"
#include "gtest/gtest.h"

namespace berth::runtime {
namespace {

// mkdir fails with EACCES (13), everything else is allowed.
std::string Spec(const std::string& extra_flags = "") {
  return absl::StrCat(R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW",)", extra_flags,
                      R"("syscalls":[{"names":["mkdir","mkdirat","no_such_syscall"],)",
                      R"("action":"SCMP_ACT_ERRNO","errnoRet":13}]}}})");
}

class SeccompTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/seccomp_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    cache_ = dir_ + "/cache";
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  // The errno of mkdir in a child that loaded `f` (0 if mkdir succeeded).
  int MkdirErrnoUnder(const SeccompFilter& f) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      if (!f.Load().ok()) ::_exit(100);
      ::_exit(::mkdir((dir_ + "/made").c_str(), 0755) == 0 ? 0 : errno);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::rmdir((dir_ + "/made").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string dir_, cache_;
};

TEST_F(SeccompTest, NoProfileNoFilter) {
  absl::StatusOr<std::unique_ptr<SeccompFilter>> f =
      SeccompFilter::FromSpec(R"({"linux":{}})", cache_);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(*f, nullptr);
}

TEST_F(SeccompTest, CompiledProgramFilters) {
  absl::StatusOr<std::unique_ptr<SeccompFilter>> f = SeccompFilter::FromSpec(Spec());
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->rules(), 2);  // the unknown name is skipped
  EXPECT_FALSE((*f)->from_cache());
  EXPECT_EQ(MkdirErrnoUnder(**f), 13);
}

TEST_F(SeccompTest, TheSecondContainerWithAProfileReadsItsProgramBack) {
  absl::StatusOr<std::unique_ptr<SeccompFilter>> first = SeccompFilter::FromSpec(Spec(), cache_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE((*first)->from_cache());
  struct stat st;
  ASSERT_EQ(::stat(cache_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  absl::StatusOr<std::unique_ptr<SeccompFilter>> second = SeccompFilter::FromSpec(Spec(), cache_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE((*second)->from_cache());
  EXPECT_EQ((*second)->program(), (*first)->program());
  EXPECT_EQ((*second)->rules(), 2);
  EXPECT_EQ(MkdirErrnoUnder(**second), 13);

  // Another profile is another program.
  absl::StatusOr<std::unique_ptr<SeccompFilter>> other =
      SeccompFilter::FromSpec(Spec(R"("flags":["SECCOMP_FILTER_FLAG_LOG"],)"), cache_);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE((*other)->from_cache());
  EXPECT_EQ(MkdirErrnoUnder(**other), 13);
}

TEST_F(SeccompTest, ADamagedCacheIsAMissNotAnError) {
  ASSERT_TRUE(SeccompFilter::FromSpec(Spec(), cache_).ok());
  std::vector<std::string> files;
  DIR* d = ::opendir(cache_.c_str());
  ASSERT_NE(d, nullptr);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') files.push_back(e->d_name);
  }
  ::closedir(d);
  ASSERT_EQ(files.size(), 1u);
  const std::string file = cache_ + "/" + files[0];
  absl::StatusOr<std::string> data = sys::ReadFile(file);
  ASSERT_TRUE(data.ok());
  // Cut short, then with its stored profile changed: neither may be used.
  for (const std::string& damaged :
       {data->substr(0, data->size() - 3),
        std::string(*data).replace(data->find("mkdirat"), 7, "rmdirat")}) {
    ASSERT_TRUE(sys::WriteFileAtomic(file, damaged, 0600).ok());
    absl::StatusOr<std::unique_ptr<SeccompFilter>> f = SeccompFilter::FromSpec(Spec(), cache_);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_FALSE((*f)->from_cache());
    EXPECT_EQ(MkdirErrnoUnder(**f), 13);
  }
  // The recompiled program replaced the damaged file.
  absl::StatusOr<std::unique_ptr<SeccompFilter>> again = SeccompFilter::FromSpec(Spec(), cache_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->from_cache());
}

TEST_F(SeccompTest, AnUnwritableCacheIsOnlySlower) {
  ASSERT_TRUE(sys::WriteFileAtomic(cache_, "not a directory", 0600).ok());
  absl::StatusOr<std::unique_ptr<SeccompFilter>> f = SeccompFilter::FromSpec(Spec(), cache_);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(MkdirErrnoUnder(**f), 13);
}

TEST_F(SeccompTest, BadProfilesAreRefusedWithTheField) {
  absl::StatusOr<std::unique_ptr<SeccompFilter>> f = SeccompFilter::FromSpec(
      R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_SOMETIMES"}}})", cache_);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find(".defaultAction"), std::string::npos) << f.status();
}

}  // namespace
}  // namespace berth::runtime
