// cgroup writes checked file by file against a fake cgroupfs: a directory of plain files
// with the control files a real hierarchy would have.
#include "runtime/cgroup.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/syscall.h"

namespace berth::runtime {
namespace {

class FakeCgroupfs : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/cgfs.XXXXXX";
    root_ = mkdtemp(tmpl.data());
  }
  void Offer(const std::string& controllers) {
    ASSERT_TRUE(sys::WriteFileAtomic(root_ + "/cgroup.controllers", controllers, 0644).ok());
    ASSERT_TRUE(sys::WriteFileAtomic(root_ + "/cgroup.subtree_control", "", 0644).ok());
  }
  std::string Read(const std::string& rel) {
    absl::StatusOr<std::string> s = sys::ReadFile(root_ + "/" + rel);
    return s.ok() ? *s : "<missing>";
  }
  // A real cgroupfs makes a new cgroup's files itself; the fake needs them made ahead.
  void PreparePath(const std::string& rel, const std::vector<std::string>& files) {
    ASSERT_TRUE(sys::MkdirAll(root_ + "/" + rel, 0755).ok());
    for (const std::string& f : files) {
      ASSERT_TRUE(sys::WriteFileAtomic(root_ + "/" + rel + "/" + f, "", 0644).ok());
    }
  }
  std::string root_;
};

TEST(CgroupMount, FindsCgroup2InMountinfo) {
  const std::string hybrid =
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(*FindCgroup2Mount(hybrid), "/sys/fs/cgroup/unified");
  // A cgroup2 mounted over /sys/fs/cgroup later hides the first one.
  EXPECT_EQ(*FindCgroup2Mount(hybrid + "90 23 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"),
            "/sys/fs/cgroup");
  EXPECT_EQ(FindCgroup2Mount("35 31 0:32 / /a rw - cgroup cgroup rw,memory\n").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(CgroupConvert, RuncConversions) {
  Resources r;
  r.cpu.emplace();
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.memory.emplace();
  r.memory->limit = 1 << 20;
  r.memory->swap = 3 << 20;
  r.pids_limit = -1;
  r.block_io.emplace();
  r.block_io->weight = 500;
  r.block_io->throttle_read_bps.push_back({.major = 8, .minor = 0, .rate = 100});
  absl::StatusOr<std::vector<CgroupWrite>> w = ConvertResources(r);
  ASSERT_TRUE(w.ok()) << w.status();
  std::map<std::string, std::string> got;
  for (const CgroupWrite& x : *w) got[x.file] += x.value;
  EXPECT_EQ(got["memory.max"], "1048576");
  EXPECT_EQ(got["memory.swap.max"], "2097152");  // memory+swap minus memory
  EXPECT_EQ(got["cpu.weight"], "100");           // the v1 default maps onto the v2 default
  EXPECT_EQ(got["cpu.max"], "50000 100000");
  EXPECT_EQ(got["pids.max"], "max");
  EXPECT_EQ(got["io.weight"], "default 4950");  // 1 + (500-10)*9999/990
  EXPECT_EQ(got["io.max"], "8:0 rbps=100");
}

TEST(CgroupConvert, RefusesWhatV2CannotDo) {
  Resources r;
  r.memory.emplace();
  r.memory->swap = 100;  // no memory limit
  EXPECT_NE(ConvertResources(r).status().message().find("needs a memory limit"), std::string::npos);
  r.memory->limit = 200;
  EXPECT_NE(ConvertResources(r).status().message().find("must be at least the memory limit"),
            std::string::npos);
  Resources k;
  k.memory.emplace();
  k.memory->kernel = 1;
  EXPECT_NE(ConvertResources(k).status().message().find("kernel memory"), std::string::npos);
  Resources u;
  u.unified["../../etc/x"] = "1";
  EXPECT_NE(ConvertResources(u).status().message().find("not a cgroup v2 file name"),
            std::string::npos);
}

TEST_F(FakeCgroupfs, EnablesControllersDownTheTreeAndWritesLimits) {
  Offer("cpu memory pids hugetlb");
  PreparePath("berth", {"cgroup.subtree_control"});
  PreparePath("berth/c1", {"memory.max", "pids.max"});
  Resources r;
  r.memory.emplace();
  r.memory->limit = 4096;
  r.pids_limit = 10;
  absl::StatusOr<Cgroup> cg = Cgroup::Open(root_, "/berth/c1");
  ASSERT_TRUE(cg.ok()) << cg.status();
  ASSERT_TRUE(cg->Create(*ConvertResources(r)).ok());
  // The fake keeps only the last write; a real kernel accumulates "+memory +pids".
  EXPECT_EQ(Read("cgroup.subtree_control"), "+pids");
  EXPECT_EQ(Read("berth/cgroup.subtree_control"), "+pids");
  EXPECT_EQ(Read("berth/c1/memory.max"), "4096");
  EXPECT_EQ(Read("berth/c1/pids.max"), "10");
}

TEST_F(FakeCgroupfs, MissingControllerNamesItAndTheFieldAndLeavesNothing) {
  Offer("hugetlb");
  Resources r;
  r.memory.emplace();
  r.memory->limit = 4096;
  absl::StatusOr<Cgroup> cg = Cgroup::Open(root_, "/berth/c2");
  ASSERT_TRUE(cg.ok());
  absl::Status st = cg->Create(*ConvertResources(r));
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("linux.resources.memory.limit: the memory controller is not "
                              "available in the cgroup v2 hierarchy at " +
                              root_ + " (it offers: hugetlb)"),
            std::string::npos)
      << st;
  EXPECT_FALSE(sys::Exists(root_ + "/berth/c2"));
}

TEST_F(FakeCgroupfs, DefaultCpuSharesNeedNoCpuController) {
  Offer("hugetlb");
  Resources r;
  r.cpu.emplace();
  r.cpu->shares = 1024;  // what containerd's default spec asks for
  absl::StatusOr<Cgroup> cg = Cgroup::Open(root_, "/berth/c3");
  ASSERT_TRUE(cg.ok());
  EXPECT_TRUE(cg->Create(*ConvertResources(r)).ok());
  r.cpu->shares = 512;  // a real preference: refused, naming the field
  absl::Status st = cg->Create(*ConvertResources(r));
  EXPECT_NE(st.message().find("linux.resources.cpu.shares: the cpu controller"), std::string::npos)
      << st;
}

TEST_F(FakeCgroupfs, PathsStayInsideTheHierarchy) {
  absl::StatusOr<Cgroup> cg = Cgroup::Open(root_, "../../../etc");
  ASSERT_TRUE(cg.ok());
  EXPECT_EQ(cg->dir(), root_ + "/etc");
  EXPECT_FALSE(Cgroup::Open(root_, "/").ok());
}

}  // namespace
}  // namespace berth::runtime
