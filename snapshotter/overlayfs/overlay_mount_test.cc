// Real overlay mounts (root): layers applied with snapshotter/apply into overlayfs snapshots
// behave as the OCI spec says once mounted, and a chain of 250 layers mounts in one piece.
// Every mount is undone in teardown, even when a check fails.
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/syscall.h"
#include "gtest/gtest.h"
#include "snapshotter/apply/apply.h"
#include "snapshotter/apply/tar_builder.h"
#include "snapshotter/diff/diff.h"
#include "snapshotter/mount/mount.h"
#include "snapshotter/overlayfs/overlayfs.h"

namespace berth::snapshotter {
namespace {

using testing::TarBuilder;

LayerReader FromString(std::string data) {
  auto pos = std::make_shared<size_t>(0);
  return [data = std::move(data), pos](char* buf, size_t n) -> absl::StatusOr<size_t> {
    size_t k = std::min(n, data.size() - *pos);
    memcpy(buf, data.data() + *pos, k);
    *pos += k;
    return k;
  };
}

class OverlayMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0 || !OverlaySupported()) GTEST_SKIP() << "needs root and overlay";
    char tmpl[] = "/tmp/berth-ovl-mount-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = OverlaySnapshotter::Open(dir_ + "/overlayfs");
    ASSERT_TRUE(s.ok()) << s.status();
    s_ = std::move(*s);
  }
  void TearDown() override {
    for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) {
      EXPECT_TRUE(Unmount(*it, /*detach=*/true).ok()) << *it;
    }
    if (!dir_.empty()) ::system(("rm -rf " + dir_).c_str());
  }

  // Prepares, applies and commits one layer as the unpacker does; returns its name.
  std::string AddLayer(const std::string& parent, const std::string& tar) {
    const std::string name = absl::StrCat("layer-", ++n_);
    auto m = s_->Prepare("extract " + name, parent, {});
    EXPECT_TRUE(m.ok()) << m.status();
    std::string dir = (*m)[0].source;
    ApplyOptions o;
    for (const std::string& opt : (*m)[0].options) {
      if (opt.rfind("upperdir=", 0) == 0) {
        dir = opt.substr(9);
        o.overlay_whiteouts = true;
      }
    }
    auto r = ApplyLayer(FromString(tar), dir, o);
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(s_->Commit(name, "extract " + name, {}).ok());
    return name;
  }

  std::string MountView(const std::string& key, const std::string& parent) {
    auto m = s_->View(key, parent, {});
    EXPECT_TRUE(m.ok()) << m.status();
    const std::string target = dir_ + "/mnt-" + key;
    EXPECT_TRUE(sys::Mkdir(target, 0755).ok());
    absl::Status st = MountAll(*m, target);
    EXPECT_TRUE(st.ok()) << st;
    if (st.ok()) mounted_.push_back(target);
    return target;
  }

  std::string dir_;
  std::unique_ptr<OverlaySnapshotter> s_;
  std::vector<std::string> mounted_;
  int n_ = 0;
};

TEST_F(OverlayMountTest, WhiteoutsAndOpaqueDirsHideLowerFiles) {
  std::string l1 = AddLayer("", TarBuilder()
                                    .Dir("etc")
                                    .File("etc/keep", "k")
                                    .File("etc/gone", "g")
                                    .Dir("var")
                                    .File("var/old1", "1")
                                    .Dir("var/sub")
                                    .File("var/sub/old2", "2")
                                    .Dir("tree")
                                    .File("tree/x", "x")
                                    .Finish());
  std::string l2 = AddLayer(l1, TarBuilder()
                                    .File("etc/.wh.gone", "")
                                    .Dir("var")
                                    .File("var/.wh..wh..opq", "")
                                    .File("var/new", "n")
                                    .File(".wh.tree", "")
                                    .File("etc/added", "a")
                                    .Finish());
  const std::string root = MountView("v", l2);
  EXPECT_TRUE(sys::Exists(root + "/etc/keep"));
  EXPECT_TRUE(sys::Exists(root + "/etc/added"));
  EXPECT_FALSE(sys::Exists(root + "/etc/gone"));
  EXPECT_FALSE(sys::Exists(root + "/etc/.wh.gone"));
  EXPECT_FALSE(sys::Exists(root + "/var/old1"));
  EXPECT_FALSE(sys::Exists(root + "/var/sub"));
  EXPECT_TRUE(sys::Exists(root + "/var/new"));
  EXPECT_FALSE(sys::Exists(root + "/tree"));
  // The lower layer itself is untouched.
  const std::string lower = MountView("v1", l1);
  EXPECT_TRUE(sys::Exists(lower + "/etc/gone"));
  EXPECT_TRUE(sys::Exists(lower + "/var/sub/old2"));
  // A file re-created above a whiteout in a later layer is back.
  std::string l3 = AddLayer(l2, TarBuilder().File("etc/gone", "again").Finish());
  auto m = s_->Prepare("rw", l3, {});
  ASSERT_TRUE(m.ok());
  const std::string rw = dir_ + "/mnt-rw";
  ASSERT_TRUE(sys::Mkdir(rw, 0755).ok());
  ASSERT_TRUE(MountAll(*m, rw).ok());
  mounted_.push_back(rw);
  EXPECT_EQ(*sys::ReadFile(rw + "/etc/gone"), "again");
  ASSERT_TRUE(sys::Unlink(rw + "/etc/keep").ok());
  EXPECT_TRUE(sys::Exists(lower + "/etc/keep"));
}

// Our mounts say redirect_dir=off, so renaming a lower directory inside a container copies
// it up whole: the upper dir alone is a correct layer (old name whited out, new name with all
// its contents), which is what the diff service reads.
TEST_F(OverlayMountTest, RenamedDirectoryDiffsAsWhiteoutAndFullCopy) {
  std::string l1 = AddLayer("", TarBuilder()
                                    .Dir("old")
                                    .File("old/a", "a")
                                    .Dir("old/sub")
                                    .File("old/sub/b", "b")
                                    .File("keep", "k")
                                    .Finish());
  auto m = s_->Prepare("rw", l1, {});
  ASSERT_TRUE(m.ok()) << m.status();
  std::string upper;
  for (const std::string& o : (*m)[0].options) {
    if (o.rfind("upperdir=", 0) == 0) upper = o.substr(9);
  }
  ASSERT_FALSE(upper.empty());
  const std::string rw = dir_ + "/mnt-rw";
  ASSERT_TRUE(sys::Mkdir(rw, 0755).ok());
  ASSERT_TRUE(MountAll(*m, rw).ok());
  mounted_.push_back(rw);
  // rename(2) of a merged directory is refused, as redirect_dir=off promises.
  ASSERT_NE(::rename((rw + "/old").c_str(), (rw + "/new").c_str()), 0);
  EXPECT_EQ(errno, EXDEV);
  // mv falls back to copy and delete, as every program that renames must.
  ASSERT_EQ(::system(("mv " + rw + "/old " + rw + "/new").c_str()), 0);
  ASSERT_TRUE(Unmount(rw, /*detach=*/false).ok());
  mounted_.pop_back();

  std::string blob;
  absl::StatusOr<DiffResult> r =
      WriteDiff("", upper, {.overlay_upper = true, .compression = Compression::kNone},
                [&](absl::string_view d) {
                  blob.append(d.data(), d.size());
                  return absl::OkStatus();
                });
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<std::string> names;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  ASSERT_EQ(archive_read_open_memory(a, blob.data(), blob.size()), ARCHIVE_OK);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) names.push_back(archive_entry_pathname(e));
  archive_read_free(a);
  // In the upper dir's name order: the whiteout stands where "old" was.
  EXPECT_EQ(names, (std::vector<std::string>{"new/", "new/a", "new/sub/", "new/sub/b", ".wh.old"}));

  // The layer on top of l1 shows the rename.
  std::string l2 = AddLayer(l1, blob);
  const std::string root = MountView("v", l2);
  EXPECT_FALSE(sys::Exists(root + "/old"));
  EXPECT_EQ(*sys::ReadFile(root + "/new/a"), "a");
  EXPECT_EQ(*sys::ReadFile(root + "/new/sub/b"), "b");
  EXPECT_EQ(*sys::ReadFile(root + "/keep"), "k");
}

TEST_F(OverlayMountTest, TwoHundredFiftyLayersMount) {
  constexpr int kLayers = 250;
  std::string parent;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kLayers; ++i) {
    parent = AddLayer(parent, TarBuilder()
                                  .Dir("layers")
                                  .File(absl::StrCat("layers/", i), absl::StrCat("layer ", i))
                                  .File("top", absl::StrCat(i))
                                  .Finish());
  }
  const absl::Duration took = absl::Now() - start;
  auto m = s_->Prepare("rootfs", parent, {});
  ASSERT_TRUE(m.ok());
  size_t opts = 0;
  for (const std::string& o : (*m)[0].options) opts += o.size() + 1;
  EXPECT_GT(opts, 4096u) << "the point is options larger than a page";
  const std::string target = dir_ + "/mnt-rootfs";
  ASSERT_TRUE(sys::Mkdir(target, 0755).ok());
  absl::Status st = MountAll(*m, target);
  ASSERT_TRUE(st.ok()) << st;
  mounted_.push_back(target);
  EXPECT_EQ(*sys::ReadFile(target + "/layers/0"), "layer 0");
  EXPECT_EQ(*sys::ReadFile(target + "/layers/249"), "layer 249");
  EXPECT_EQ(*sys::ReadFile(target + "/top"), "249");
  std::cerr << kLayers << " layers applied and committed in " << took << "\n";
}

TEST_F(OverlayMountTest, LegacyFallbackMountsLongChainsWithRelativePaths) {
  // The fallback path alone, as on kernels before 6.8: mount(2) from the common parent.
  std::string parent;
  for (int i = 0; i < 120; ++i) {
    parent = AddLayer(parent, TarBuilder().File(absl::StrCat("f", i), "x").Finish());
  }
  auto m = s_->View("ro", parent, {});
  ASSERT_TRUE(m.ok());
  std::string common;
  std::vector<std::string> rel = RelativeOverlayOptions((*m)[0].options, &common);
  EXPECT_EQ(common, dir_ + "/overlayfs/snapshots");
  EXPECT_EQ(rel.back().rfind("lowerdir=120/fs:119/fs:", 0), 0u) << rel.back();
  const std::string target = dir_ + "/mnt-legacy";
  ASSERT_TRUE(sys::Mkdir(target, 0755).ok());
  absl::Status st = MountOverlayLegacy((*m)[0], target);
  ASSERT_TRUE(st.ok()) << st;
  mounted_.push_back(target);
  EXPECT_TRUE(sys::Exists(target + "/f0"));
  EXPECT_TRUE(sys::Exists(target + "/f119"));
}

}  // namespace
}  // namespace berth::snapshotter
