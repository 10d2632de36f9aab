// cgroup v2 limits proven for real: this host's cgroups are hybrid (memory, pids and cpu are
// bound to v1), so the checks run in a qemu guest booted from Debian's kernel with a pure
// cgroup2 hierarchy. The guest (guest_tests.sh) runs berth-runtime with each limit, then
// berthd and `berth run` with the same limits, and prints one "VMTEST <name> PASS|FAIL
// <detail>" line per check; each check is one test case here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <sstream>

#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

constexpr char kKernel[] = "/var/cache/berth/vm/vmlinuz";

class Vm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access(kKernel, R_OK) != 0 || access("/usr/bin/qemu-system-x86_64", X_OK) != 0) {
      skip_ = "no VM kernel or qemu: scripts/install-deps.sh provides both";
      return;
    }
    const std::string initrd = MakeTempDir("vm") + "/initrd.gz";
    const std::string image = MakeTempDir("vm-image") + "/busybox.tar";
    CommandResult made = RunCommand(
        {"/usr/bin/python3", Runfile("e2e/fixtures/make_oci_image.py"), image, "busybox"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    CommandResult build =
        RunCommand({"/bin/bash", Runfile("e2e/vm/build_initramfs.sh"), initrd,
                    Runfile("runtime/berth-runtime"), Runfile("services/daemon/berthd"),
                    Runfile("ctl/berth"), Runfile("shim/berth-shim"), image});
    ASSERT_EQ(build.exit_code, 0) << build.err;
    // TCG, not KVM (the guest hangs under KVM here). `timeout` ends qemu on every path.
    CommandResult vm = RunCommand(
        {"/usr/bin/timeout", "--kill-after=10", "300", "/usr/bin/qemu-system-x86_64", "-m", "1536",
         "-smp", "1", "-nographic", "-no-reboot", "-kernel", kKernel, "-initrd", initrd, "-append",
         "console=ttyS0 rdinit=/init panic=-1 cgroup_no_v1=all quiet"});
    console_ = vm.out + vm.err;
    std::istringstream lines(console_);
    for (std::string line; std::getline(lines, line);) {
      size_t at = line.find("VMTEST ");
      if (at == std::string::npos) continue;
      std::istringstream words(line.substr(at + 7));
      std::string name, verdict, detail;
      words >> name >> verdict;
      std::getline(words, detail);
      results_[name] = verdict + detail;
    }
  }

  void Expect(const std::string& name) {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_NE(console_.find("VMTEST-DONE"), std::string::npos)
        << "the guest did not finish; its console:\n"
        << console_;
    auto it = results_.find(name);
    ASSERT_NE(it, results_.end()) << name << " did not report; console:\n" << console_;
    EXPECT_EQ(it->second.substr(0, 4), "PASS") << name << ": " << it->second;
  }

  static inline std::string skip_;
  static inline std::string console_;
  static inline std::map<std::string, std::string> results_;
};

TEST_F(Vm, MemoryLimitOomKillsAt137) { Expect("memory_oom"); }
TEST_F(Vm, MemoryAndSwapFilesAsSpecified) { Expect("memory_files"); }
TEST_F(Vm, PidsLimitStopsAForkLoopAt20) { Expect("pids_limit"); }
TEST_F(Vm, CpuQuotaThrottles) { Expect("cpu_quota"); }
TEST_F(Vm, CpusetWeightAndHugetlbWritten) { Expect("cpuset_weight_hugetlb"); }
TEST_F(Vm, UpdateChangesARunningContainersLimits) { Expect("update"); }
TEST_F(Vm, PauseFreezes) { Expect("pause"); }
TEST_F(Vm, StatsShowMemoryAndPids) { Expect("stats"); }
// The same limits set by the engine: berthd, berth-shim and `berth run` inside the guest.
TEST_F(Vm, EngineMemoryLimitOomKillsReportsOomKilledAndAnEvent) { Expect("engine_oom"); }
TEST_F(Vm, EnginePidsLimitStopsAForkLoopAt20) { Expect("engine_pids"); }
TEST_F(Vm, EngineHalfACpuThrottlesAndGetsAboutHalfACore) { Expect("engine_cpus"); }
TEST_F(Vm, EngineUpdateChangesARunningContainersLimits) { Expect("engine_update"); }
TEST_F(Vm, EngineStatsShowMemory) { Expect("engine_stats"); }
TEST_F(Vm, EnginePauseFreezes) { Expect("engine_pause"); }

}  // namespace
}  // namespace berth::e2e
