#include "snapshotter/overlayfs/overlayfs.h"

#include <stdlib.h>

#include "common/syscall.h"
#include "gtest/gtest.h"

namespace berth::snapshotter {
namespace {

class OverlayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-overlay-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = OverlaySnapshotter::Open(dir_ + "/overlayfs");
    ASSERT_TRUE(s.ok()) << s.status();
    s_ = std::move(*s);
  }
  void TearDown() override { ::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
  std::unique_ptr<OverlaySnapshotter> s_;
};

TEST_F(OverlayTest, MountsFollowTheChain) {
  const std::string snaps = dir_ + "/overlayfs/snapshots/";
  auto m = s_->Prepare("a", "", {});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].type, "bind");
  EXPECT_EQ((*m)[0].source, snaps + "1/fs");
  EXPECT_EQ((*m)[0].options, (std::vector<std::string>{"rw", "rbind"}));
  EXPECT_TRUE(sys::Exists(snaps + "1/work"));
  ASSERT_TRUE(s_->Commit("A", "a", {}).ok());
  EXPECT_FALSE(sys::Exists(snaps + "1/work"));

  // A view of one parent: ro bind of the parent.
  m = s_->View("v", "A", {});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)[0].source, snaps + "1/fs");
  EXPECT_EQ((*m)[0].options, (std::vector<std::string>{"ro", "rbind"}));

  m = s_->Prepare("b", "A", {});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)[0].type, "overlay");
  EXPECT_EQ((*m)[0].options, (std::vector<std::string>{
                                 "index=off", "redirect_dir=off", "workdir=" + snaps + "3/work",
                                 "upperdir=" + snaps + "3/fs", "lowerdir=" + snaps + "1/fs"}));
  ASSERT_TRUE(s_->Commit("B", "b", {}).ok());
  m = s_->View("v2", "B", {});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)[0].options,
            (std::vector<std::string>{"index=off", "redirect_dir=off", "ro",
                                      "lowerdir=" + snaps + "3/fs:" + snaps + "1/fs"}));
  auto again = s_->Mounts("v2");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].options, (*m)[0].options);
  EXPECT_EQ(s_->Mounts("B").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(OverlayTest, RemoveRefusesParentsAndCleanupTakesStrays) {
  ASSERT_TRUE(s_->Prepare("a", "", {}).ok());
  ASSERT_TRUE(s_->Commit("A", "a", {{"l", "1"}}).ok());
  ASSERT_TRUE(s_->Prepare("b", "A", {}).ok());
  absl::Status st = s_->Remove("A");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  ASSERT_TRUE(s_->Remove("b").ok());
  EXPECT_FALSE(sys::Exists(dir_ + "/overlayfs/snapshots/2"));
  ASSERT_TRUE(s_->Remove("A").ok());
  ASSERT_TRUE(sys::MkdirAll(dir_ + "/overlayfs/snapshots/99/fs/x", 0755).ok());
  ASSERT_TRUE(sys::MkdirAll(dir_ + "/overlayfs/snapshots/rm-7/fs", 0755).ok());
  ASSERT_TRUE(s_->Cleanup().ok());
  EXPECT_FALSE(sys::Exists(dir_ + "/overlayfs/snapshots/99"));
  EXPECT_FALSE(sys::Exists(dir_ + "/overlayfs/snapshots/rm-7"));
}

TEST_F(OverlayTest, WalkFiltersAndUsage) {
  ASSERT_TRUE(s_->Prepare("a", "", {{"tier", "db"}}).ok());
  ASSERT_TRUE(
      sys::WriteFileAtomic(dir_ + "/overlayfs/snapshots/1/fs/f", std::string(10000, 'x'), 0644)
          .ok());
  ASSERT_TRUE(s_->Commit("A", "a", {{"tier", "db"}}).ok());
  ASSERT_TRUE(s_->Prepare("b", "A", {}).ok());
  std::vector<std::string> names;
  auto collect = [&](const Info& i) {
    names.push_back(i.name);
    return absl::OkStatus();
  };
  ASSERT_TRUE(s_->Walk(collect, {"kind==committed"}).ok());
  EXPECT_EQ(names, std::vector<std::string>{"A"});
  names.clear();
  ASSERT_TRUE(s_->Walk(collect, {"parent==A", "labels.tier==db"}).ok());
  EXPECT_EQ(names, (std::vector<std::string>{"A", "b"}));
  auto u = s_->GetUsage("A");
  ASSERT_TRUE(u.ok());
  EXPECT_GE(u->size, 10000);
  EXPECT_EQ(u->inodes, 2);
}

}  // namespace
}  // namespace berth::snapshotter
