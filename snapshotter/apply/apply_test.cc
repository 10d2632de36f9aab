#include "snapshotter/apply/apply.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/syscall.h"
#include "gtest/gtest.h"
#include "snapshotter/apply/tar_builder.h"

namespace berth::snapshotter {
namespace {

using testing::TarBuilder;

LayerReader FromString(const std::string& data) {
  auto pos = std::make_shared<size_t>(0);
  return [data, pos](char* buf, size_t n) -> absl::StatusOr<size_t> {
    size_t k = std::min(n, data.size() - *pos);
    memcpy(buf, data.data() + *pos, k);
    *pos += k;
    return k;
  };
}

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-apply-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top_ = tmpl;
    root_ = top_ + "/root";
    ASSERT_TRUE(sys::Mkdir(root_, 0755).ok());
    ASSERT_TRUE(sys::Mkdir(top_ + "/outside", 0755).ok());
  }
  void TearDown() override { ::system(("rm -rf " + top_).c_str()); }
  absl::StatusOr<ApplyResult> Apply(const std::string& tar, ApplyOptions o = {}) {
    return ApplyLayer(FromString(tar), root_, o);
  }
  bool OutsideEmpty() {
    std::string out;
    FILE* p = ::popen(("ls -A " + top_ + "/outside").c_str(), "r");
    char buf[256];
    while (fgets(buf, sizeof(buf), p)) out += buf;
    ::pclose(p);
    return out.empty() && !sys::Exists("/tmp/berth-apply-escaped");
  }
  std::string top_, root_;
};

TEST_F(ApplyTest, KeepsModesOwnersXattrsLinksAndTimes) {
  std::string tar =
      TarBuilder()
          .Dir("bin", {.mode = 0755, .mtime = 1600000000})
          .File("bin/su", "x", {.mode = 04755, .uid = 0, .gid = 0})
          .File("bin/tool", "data",
                {.mode = 0750, .uid = 1234, .gid = 99, .xattrs = {{"user.note", "hi"}}})
          .Hardlink("bin/tool2", "bin/tool")
          .Symlink("bin/sh", "/bin/busybox")
          .File("deep/er/file", "auto parents")
          .Finish();
  auto r = Apply(tar);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->diff_id, Sha256Of(tar).ToString());
  EXPECT_EQ(r->size, static_cast<int64_t>(tar.size()));
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  ASSERT_EQ(::lstat((root_ + "/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 99u);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(st.st_mtime, 1700000000);
  char v[8] = {};
  EXPECT_EQ(::getxattr((root_ + "/bin/tool").c_str(), "user.note", v, sizeof(v)), 2);
  char link[32] = {};
  EXPECT_EQ(::readlink((root_ + "/bin/sh").c_str(), link, sizeof(link)), 12);
  ASSERT_EQ(::lstat((root_ + "/bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 1600000000);
  EXPECT_EQ(*sys::ReadFile(root_ + "/deep/er/file"), "auto parents");
}

TEST_F(ApplyTest, CompressedLayersGiveTheUncompressedDigest) {
  auto build = [](TarBuilder::Compression c) {
    return TarBuilder(c).Dir("d").File("d/f", std::string(100000, 'z')).Finish();
  };
  const std::string plain = build(TarBuilder::Compression::kNone);
  for (auto c : {TarBuilder::Compression::kGzip, TarBuilder::Compression::kZstd}) {
    std::string packed = build(c);
    EXPECT_LT(packed.size(), plain.size());
    auto r = Apply(packed);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->diff_id, Sha256Of(plain).ToString());
  }
}

TEST_F(ApplyTest, TruncatedLayerIsDataLoss) {
  std::string tar =
      TarBuilder(TarBuilder::Compression::kGzip).File("f", std::string(100000, 'q')).Finish();
  auto r = Apply(tar.substr(0, tar.size() / 2));
  EXPECT_FALSE(r.ok());
}

struct Hostile {
  const char* what;
  std::string tar;
  const char* entry;
};

TEST_F(ApplyTest, HostileLayersAreRefusedAndWriteNothingOutside) {
  const std::string out = top_ + "/outside";
  std::vector<Hostile> cases = {
      {"dotdot", TarBuilder().File("../outside/evil", "x").Finish(), "../outside/evil"},
      {"nested dotdot", TarBuilder().File("a/../../outside/evil", "x").Finish(),
       "a/../../outside/evil"},
      {"absolute", TarBuilder().File("/tmp/berth-apply-escaped", "x").Finish(),
       "/tmp/berth-apply-escaped"},
      {"symlink out, absolute", TarBuilder().Symlink("link", out).File("link/evil", "x").Finish(),
       "link/evil"},
      {"symlink out, relative",
       TarBuilder().Symlink("link", "../outside").File("link/evil", "x").Finish(), "link/evil"},
      {"symlink chain",
       TarBuilder().Symlink("a", "b").Symlink("b", "../../outside").File("a/evil", "x").Finish(),
       "a/evil"},
      {"hardlink out", TarBuilder().Hardlink("hl", "../outside/target").Finish(), "hl"},
      {"hardlink absolute", TarBuilder().Hardlink("hl", "/etc/passwd").Finish(), "hl"},
      {"hardlink through symlink",
       TarBuilder().Symlink("etc", "/etc").Hardlink("hl", "etc/passwd").Finish(), "hl"},
      {"device", TarBuilder().CharDevice("dev/mem").Finish(), "dev/mem"},
  };
  ASSERT_TRUE(sys::WriteFileAtomic(out + "/target", "t", 0644).ok());
  for (const Hostile& h : cases) {
    SCOPED_TRACE(h.what);
    auto r = Apply(h.tar);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(absl::StrCat("\"", h.entry, "\"")), std::string::npos)
        << r.status();
    std::string listing;
    FILE* p = ::popen(("ls -A " + out).c_str(), "r");
    char buf[256];
    while (fgets(buf, sizeof(buf), p)) listing += buf;
    ::pclose(p);
    EXPECT_EQ(listing, "target\n");
    EXPECT_FALSE(sys::Exists("/tmp/berth-apply-escaped"));
    struct stat st;
    ASSERT_EQ(::stat((out + "/target").c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u);
    ::system(("rm -rf " + root_ + " && mkdir " + root_).c_str());
  }
  // Devices are allowed when asked for (as root).
  if (::geteuid() == 0) {
    auto r = Apply(TarBuilder().CharDevice("dev/null").Finish(), {.allow_devices = true});
    EXPECT_TRUE(r.ok()) << r.status();
  }
}

TEST_F(ApplyTest, WhiteoutsDeleteWithoutOverlay) {
  ASSERT_TRUE(Apply(TarBuilder()
                        .File("keep", "k")
                        .File("gone", "g")
                        .Dir("opq")
                        .File("opq/old", "o")
                        .Dir("deldir")
                        .File("deldir/x", "x")
                        .Finish())
                  .ok());
  auto r = Apply(TarBuilder()
                     .File(".wh.gone", "")
                     .File("deldir/../.wh.deldir-not", "")  // ".." is refused before anything
                     .Finish());
  EXPECT_FALSE(r.ok());
  r = Apply(TarBuilder()
                .File(".wh.gone", "")
                .File(".wh.deldir", "")
                .Dir("opq")
                .File("opq/.wh..wh..opq", "")
                .File("opq/new", "n")
                .Finish());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(sys::Exists(root_ + "/keep"));
  EXPECT_FALSE(sys::Exists(root_ + "/gone"));
  EXPECT_FALSE(sys::Exists(root_ + "/deldir"));
  EXPECT_FALSE(sys::Exists(root_ + "/opq/old"));
  EXPECT_TRUE(sys::Exists(root_ + "/opq/new"));
  EXPECT_FALSE(sys::Exists(root_ + "/.wh.gone"));
}

TEST_F(ApplyTest, OverlayWhiteoutsBecomeDevicesAndOpaqueXattrs) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs CAP_MKNOD and trusted.* xattrs";
  auto r = Apply(TarBuilder()
                     .File(".wh.gone", "")
                     .Dir("opq")
                     .File("opq/.wh..wh..opq", "")
                     .File("opq/new", "n")
                     .Finish(),
                 {.overlay_whiteouts = true});
  ASSERT_TRUE(r.ok()) << r.status();
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char v[4] = {};
  EXPECT_EQ(::getxattr((root_ + "/opq").c_str(), "trusted.overlay.opaque", v, sizeof(v)), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_FALSE(sys::Exists(root_ + "/opq/.wh..wh..opq"));
}

}  // namespace
}  // namespace berth::snapshotter
