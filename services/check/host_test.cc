#include "services/check/host.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "common/path.h"
#include "common/syscall.h"

namespace berth::check {
namespace {

constexpr char kMountInfo[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "30 22 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw\n"
    "40 22 0:40 / /run/berth/tasks/default/a\\040b/rootfs rw - overlay overlay "
    "rw,lowerdir=/x,upperdir=/y\n"
    "41 22 0:41 / /var/lib/berth/volumes/default/v/_data rw shared:3 master:1 - tmpfs tmpfs rw\n"
    "garbage line\n";

TEST(ParseMountInfo, ReadsMountPointsTypesAndSources) {
  std::vector<MountEntry> m = ParseMountInfo(kMountInfo);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].mount_point, "/");
  EXPECT_EQ(m[0].fstype, "ext4");
  EXPECT_EQ(m[0].source, "/dev/sda1");
  EXPECT_EQ(m[2].mount_point, "/run/berth/tasks/default/a b/rootfs");
  EXPECT_EQ(m[2].fstype, "overlay");
  EXPECT_EQ(m[3].mount_point, "/var/lib/berth/volumes/default/v/_data");  // optional fields
  EXPECT_EQ(m[3].fstype, "tmpfs");
}

TEST(Cgroup2Mount, TakesTheLastAndSaysWhenThereIsNone) {
  absl::StatusOr<std::string> cg = Cgroup2Mount(ParseMountInfo(kMountInfo));
  ASSERT_TRUE(cg.ok()) << cg.status();
  EXPECT_EQ(*cg, "/sys/fs/cgroup/unified");
  const std::string stacked =
      std::string(kMountInfo) + "50 22 0:50 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(*Cgroup2Mount(ParseMountInfo(stacked)), "/sys/fs/cgroup");
  EXPECT_TRUE(absl::IsNotFound(
      Cgroup2Mount(ParseMountInfo("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n")).status()));
}

class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") + "/proc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void Process(int pid, const std::string& comm, char state, const std::string& cmdline) {
    const std::string d = path::Join(dir_, std::to_string(pid));
    ASSERT_TRUE(sys::MkdirAll(d, 0755).ok());
    ASSERT_TRUE(sys::WriteFileAtomic(path::Join(d, "stat"),
                                     std::to_string(pid) + " (" + comm + ") " + state + " 1 2 3",
                                     0644)
                    .ok());
    ASSERT_TRUE(sys::WriteFileAtomic(path::Join(d, "cmdline"), cmdline, 0644).ok());
  }
  std::string dir_;
};

TEST_F(FakeProc, FindsLiveShimsWithTheirStateDirectories) {
  using namespace std::string_literals;
  Process(10, "berth-shim", 'S',
          "/usr/bin/berth-shim\0--id\0c1\0--socket\0/run/berth/s/x\0--state\0/run/berth/tasks/"
          "default/c1\0"s);
  Process(11, "berth-shim", 'Z', "");  // a zombie has no command line
  Process(12, "berth-shim", 'Z', "/usr/bin/berth-shim\0--state\0/run/berth/tasks/d/c2\0"s);
  Process(13, "sleep) S (x", 'S', "sleep\0000\0"s);
  Process(14, "berth-shim", 'S', "/opt/berth-shim\0--help\0"s);  // no --state: not a task's
  std::vector<ShimProcess> shims = FindShims(dir_);
  ASSERT_EQ(shims.size(), 1u);
  EXPECT_EQ(shims[0].pid, 10);
  EXPECT_EQ(shims[0].id, "c1");
  EXPECT_EQ(shims[0].state_dir, "/run/berth/tasks/default/c1");
  EXPECT_TRUE(ProcessAlive(13, dir_));  // comm with ") S (" in it
  EXPECT_FALSE(ProcessAlive(12, dir_));
  EXPECT_FALSE(ProcessAlive(99, dir_));
  EXPECT_EQ(CommandLine(13, dir_), (std::vector<std::string>{"sleep", "0"}));
}

TEST_F(FakeProc, ReadsWhetherACgroupIsPopulated) {
  const std::string cg = path::Join(dir_, "cg");
  ASSERT_TRUE(sys::MkdirAll(path::Join(cg, "child"), 0755).ok());
  ASSERT_TRUE(
      sys::WriteFileAtomic(path::Join(cg, "cgroup.events"), "populated 0\nfrozen 0\n", 0644).ok());
  EXPECT_FALSE(CgroupPopulated(cg));
  ASSERT_TRUE(
      sys::WriteFileAtomic(path::Join(cg, "cgroup.events"), "populated 1\nfrozen 0\n", 0644).ok());
  EXPECT_TRUE(CgroupPopulated(cg));
  EXPECT_EQ(SubDirs(cg), std::vector<std::string>{"child"});
  EXPECT_EQ(DirEntries(cg), (std::vector<std::string>{"cgroup.events", "child"}));
}

}  // namespace
}  // namespace berth::check
