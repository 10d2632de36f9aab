#include "services/build/copy.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "common/syscall.h"
#include "common/unique_fd.h"
#include "services/build/sources.h"

namespace berth::build {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class CopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    base_ = std::string(std::getenv("TEST_TMPDIR")) + "/t" + std::to_string(n++);
    src_ = base_ + "/src";
    dst_ = base_ + "/dst";
    ASSERT_TRUE(sys::MkdirAll(src_, 0755).ok());
    ASSERT_TRUE(sys::MkdirAll(dst_, 0755).ok());
  }
  void Write(const std::string& rel, const std::string& data, mode_t mode = 0644) {
    const std::string p = src_ + "/" + rel;
    ASSERT_TRUE(sys::MkdirAll(p.substr(0, p.rfind('/')), 0755).ok());
    std::ofstream(p) << data;
    ::chmod(p.c_str(), mode);
  }
  std::string Read(const std::string& rel) {
    absl::StatusOr<std::string> s = sys::ReadFile(dst_ + rel);
    return s.value_or("<missing>");
  }
  struct stat Stat(const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(::lstat((dst_ + rel).c_str(), &st), 0) << rel;
    return st;
  }
  UniqueFd Root(const std::string& dir) {
    return UniqueFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  absl::Status Copy(const std::vector<std::string>& patterns, const std::string& dest,
                    const CopyOptions& o = {}) {
    UniqueFd s = Root(src_), d = Root(dst_);
    std::vector<std::string> paths;
    for (const std::string& p : patterns) {
      absl::StatusOr<std::vector<std::string>> m = MatchSources(s.get(), p, "build context");
      if (!m.ok()) return m.status();
      paths.insert(paths.end(), m->begin(), m->end());
    }
    return CopyInto(s.get(), paths, d.get(), dest, o);
  }

  std::string base_, src_, dst_;
};

TEST_F(CopyTest, MatchSources) {
  Write("a.txt", "a");
  Write("b.txt", "b");
  Write("c.md", "c");
  Write("dir/x.txt", "x");
  UniqueFd s = Root(src_);
  EXPECT_THAT(*MatchSources(s.get(), "*.txt", "ctx"), ElementsAre("a.txt", "b.txt"));
  EXPECT_THAT(*MatchSources(s.get(), "/dir/../*.md", "ctx"), ElementsAre("c.md"));
  EXPECT_THAT(*MatchSources(s.get(), "*/x.txt", "ctx"), ElementsAre("dir/x.txt"));
  EXPECT_THAT(*MatchSources(s.get(), "[ab].txt", "ctx"), ElementsAre("a.txt", "b.txt"));
  EXPECT_THAT(*MatchSources(s.get(), ".", "ctx"), ElementsAre("."));
  EXPECT_THAT(*MatchSources(s.get(), "dir/", "ctx"), ElementsAre("dir"));
  absl::StatusOr<std::vector<std::string>> m = MatchSources(s.get(), "nope", "build context");
  EXPECT_TRUE(absl::IsNotFound(m.status()));
  EXPECT_THAT(m.status().message(), HasSubstr("\"nope\": no such file or directory in the build"));
  m = MatchSources(s.get(), "*.none", "build context");
  EXPECT_THAT(m.status().message(), HasSubstr("no source files were specified"));
  m = MatchSources(s.get(), "../etc/passwd", "build context");
  EXPECT_TRUE(absl::IsInvalidArgument(m.status()));
  EXPECT_THAT(m.status().message(), HasSubstr("forbidden path outside the build context"));
}

TEST_F(CopyTest, FileToFileIntoDirAndDirContents) {
  Write("f", "data", 0750);
  Write("tree/one", "1");
  Write("tree/sub/two", "2", 0600);
  ASSERT_TRUE(Copy({"f"}, "/renamed").ok());
  EXPECT_EQ(Read("/renamed"), "data");
  EXPECT_EQ(Stat("/renamed").st_mode & 07777, 0750u);
  ASSERT_TRUE(Copy({"f"}, "/into/").ok());
  EXPECT_EQ(Read("/into/f"), "data");
  EXPECT_EQ(Stat("/into").st_mode & 07777, 0755u);
  // A directory's contents, not the directory itself.
  ASSERT_TRUE(Copy({"tree"}, "/t").ok());
  EXPECT_EQ(Read("/t/one"), "1");
  EXPECT_EQ(Read("/t/sub/two"), "2");
  EXPECT_EQ(Stat("/t/sub/two").st_mode & 07777, 0600u);
  // Into an existing directory without a trailing slash.
  ASSERT_TRUE(Copy({"f"}, "/t").ok());
  EXPECT_EQ(Read("/t/f"), "data");
  // Several sources need a directory.
  absl::Status st = Copy({"f", "tree"}, "/single");
  EXPECT_THAT(st.message(), HasSubstr("must be a directory and end with a /"));
  ASSERT_TRUE(Copy({"f", "tree/one"}, "/many/").ok());
  EXPECT_EQ(Read("/many/one"), "1");
}

TEST_F(CopyTest, OwnersModesTimesAndLinks) {
  if (geteuid() != 0) GTEST_SKIP() << "chown needs root";
  Write("f", "x", 04755);
  ASSERT_EQ(::chown((src_ + "/f").c_str(), 1234, 1234), 0);
  ASSERT_EQ(::chmod((src_ + "/f").c_str(), 04755), 0);  // chown dropped the setuid bit
  struct timespec times[2] = {{1000, 5}, {2000, 7}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (src_ + "/f").c_str(), times, 0), 0);
  ASSERT_EQ(::link((src_ + "/f").c_str(), (src_ + "/hard").c_str()), 0);
  ASSERT_EQ(::symlink("f", (src_ + "/sym").c_str()), 0);
  ASSERT_TRUE(sys::MkdirAll(src_ + "/d", 0755).ok());
  ASSERT_EQ(::symlink("../f", (src_ + "/d/up").c_str()), 0);

  ASSERT_TRUE(Copy({"."}, "/ctx/").ok());
  struct stat f = Stat("/ctx/f");
  EXPECT_EQ(f.st_uid, 0u);  // from the context: root's
  EXPECT_EQ(f.st_mode & 07777, 04755u);
  EXPECT_EQ(f.st_mtim.tv_sec, 2000);
  EXPECT_EQ(f.st_mtim.tv_nsec, 7);
  EXPECT_EQ(Stat("/ctx/hard").st_ino, f.st_ino);  // a hardlink stays one
  EXPECT_TRUE(S_ISLNK(Stat("/ctx/sym").st_mode));
  EXPECT_TRUE(S_ISLNK(Stat("/ctx/d/up").st_mode));

  ASSERT_TRUE(Copy({"f"}, "/own", {.chown = Owner{.uid = 7, .gid = 8}, .chmod = 0640}).ok());
  EXPECT_EQ(Stat("/own").st_uid, 7u);
  EXPECT_EQ(Stat("/own").st_gid, 8u);
  EXPECT_EQ(Stat("/own").st_mode & 07777, 0640u);
  ASSERT_TRUE(Copy({"f"}, "/kept", {.keep_owner = true}).ok());
  EXPECT_EQ(Stat("/kept").st_uid, 1234u);
  // Made parents belong to --chown's owner.
  ASSERT_TRUE(Copy({"f"}, "/p/q/", {.chown = Owner{.uid = 9, .gid = 9}}).ok());
  EXPECT_EQ(Stat("/p").st_uid, 9u);
  EXPECT_EQ(Stat("/p/q").st_uid, 9u);
}

TEST_F(CopyTest, SymlinksNeverLeadOut) {
  // In the context: a symlink to the host's /etc. COPY follows it inside the context only.
  ASSERT_EQ(::symlink("/", (src_ + "/evil").c_str()), 0);
  Write("etc/passwd", "context's own");
  ASSERT_TRUE(Copy({"evil/etc/passwd"}, "/got").ok());
  EXPECT_EQ(Read("/got"), "context's own");
  // In the image: a directory symlinked to "/" — the write lands inside the image's root.
  ASSERT_EQ(::symlink("/", (dst_ + "/up").c_str()), 0);
  Write("x", "x");
  ASSERT_TRUE(Copy({"x"}, "/up/tmp/escape/").ok());
  EXPECT_EQ(Read("/tmp/escape/x"), "x");
  EXPECT_FALSE(sys::Exists("/tmp/escape/x"));
}

TEST_F(CopyTest, FileOverDirectoryFails) {
  Write("f", "x");
  ASSERT_TRUE(sys::MkdirAll(dst_ + "/d/f", 0755).ok());
  EXPECT_THAT(Copy({"f"}, "/d/").message(), HasSubstr("over the directory"));
}

TEST_F(CopyTest, HashFollowsContentNotTimes) {
  Write("a/x", "1");
  UniqueFd s = Root(src_);
  const std::string h1 = *HashSources(s.get(), {"a"});
  struct timespec times[2] = {{1, 0}, {1, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (src_ + "/a/x").c_str(), times, 0), 0);
  EXPECT_EQ(*HashSources(s.get(), {"a"}), h1);
  Write("a/x", "2");
  EXPECT_NE(*HashSources(s.get(), {"a"}), h1);
  ::chmod((src_ + "/a/x").c_str(), 0600);
  const std::string h2 = *HashSources(s.get(), {"a"});
  ::chmod((src_ + "/a/x").c_str(), 0644);
  EXPECT_NE(*HashSources(s.get(), {"a"}), h2);
}

TEST_F(CopyTest, AddUnpacksArchives) {
  Write("payload/inner.txt", "inner");
  const std::string tar = src_ + "/p.tar.gz";
  ASSERT_EQ(std::system(("tar -C " + src_ + "/payload -czf " + tar + " inner.txt").c_str()), 0);
  Write("plain.txt", "not an archive");
  ASSERT_TRUE(Copy({"p.tar.gz"}, "/unpacked", {.unpack_archives = true}).ok());
  EXPECT_EQ(Read("/unpacked/inner.txt"), "inner");
  ASSERT_TRUE(Copy({"plain.txt"}, "/plain", {.unpack_archives = true}).ok());
  EXPECT_EQ(Read("/plain"), "not an archive");
  // COPY never unpacks.
  ASSERT_TRUE(Copy({"p.tar.gz"}, "/copied.tar.gz").ok());
  EXPECT_TRUE(S_ISREG(Stat("/copied.tar.gz").st_mode));
}

TEST(ParseChmod, Octal) {
  EXPECT_EQ(*ParseChmod("755"), 0755u);
  EXPECT_EQ(*ParseChmod("04755"), 04755u);
  EXPECT_FALSE(ParseChmod("u+x").ok());
  EXPECT_FALSE(ParseChmod("8").ok());
  EXPECT_FALSE(ParseChmod("").ok());
}

}  // namespace
}  // namespace berth::build
