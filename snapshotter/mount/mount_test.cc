#include "snapshotter/mount/mount.h"

#include "gtest/gtest.h"

namespace berth::snapshotter {
namespace {

TEST(MountTest, RelativeOptionsShareTheCommonParent) {
  std::string dir;
  auto opts = RelativeOverlayOptions(
      {"index=off", "workdir=/r/snapshots/3/work", "upperdir=/r/snapshots/3/fs",
       "lowerdir=/r/snapshots/2/fs:/r/snapshots/10/fs"},
      &dir);
  EXPECT_EQ(dir, "/r/snapshots");
  EXPECT_EQ(opts, (std::vector<std::string>{"index=off", "workdir=3/work", "upperdir=3/fs",
                                            "lowerdir=2/fs:10/fs"}));
  opts = RelativeOverlayOptions({"lowerdir=/a/x:/b/y"}, &dir);
  EXPECT_EQ(dir, "/");
  EXPECT_EQ(opts[0], "lowerdir=a/x:b/y");
  // A shared string prefix that is not a directory boundary does not count.
  RelativeOverlayOptions({"lowerdir=/r/s1/fs:/r/s10/fs"}, &dir);
  EXPECT_EQ(dir, "/r");
}

TEST(MountTest, LowerDirsNearestFirst) {
  Mount m{"overlay", "overlay", {"index=off", "lowerdir=/a:/b:/c"}};
  EXPECT_EQ(LowerDirs(m), (std::vector<std::string>{"/a", "/b", "/c"}));
}

}  // namespace
}  // namespace berth::snapshotter
