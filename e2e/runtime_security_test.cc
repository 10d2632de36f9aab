// berth-runtime's process security, seen from inside the container: capabilities, seccomp,
// rlimits, no_new_privs, and the defences against runc's known CVEs. Needs root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "e2e/harness/runtime_fixture.h"

namespace berth::e2e {
namespace {

using RuntimeSecurity = RuntimeTest;

// The value of a "Key:\tvalue" line of /proc/self/status as printed by the container.
std::string StatusField(const std::string& out, const std::string& key) {
  size_t at = out.find(key + ":");
  if (at == std::string::npos) return "";
  size_t start = out.find_first_not_of(" \t", at + key.size() + 1);
  return out.substr(start, out.find('\n', start) - start);
}

TEST_F(RuntimeSecurity, CapabilitySetsAreExactlyTheSpecs) {
  BusyboxBundle b = Bundle({"cat", "/proc/self/status"});
  nlohmann::json caps = {"CAP_KILL", "CAP_NET_BIND_SERVICE"};  // bits 5 and 10
  b.spec()["process"]["capabilities"] = {{"bounding", caps},
                                         {"effective", caps},
                                         {"permitted", caps},
                                         {"inheritable", caps},
                                         {"ambient", {"CAP_KILL"}}};
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(StatusField(r.out, "CapEff"), "0000000000000420");
  EXPECT_EQ(StatusField(r.out, "CapPrm"), "0000000000000420");
  EXPECT_EQ(StatusField(r.out, "CapBnd"), "0000000000000420");
  EXPECT_EQ(StatusField(r.out, "CapInh"), "0000000000000420");
  EXPECT_EQ(StatusField(r.out, "CapAmb"), "0000000000000020");
  EXPECT_EQ(StatusField(r.out, "NoNewPrivs"), "1");
}

TEST_F(RuntimeSecurity, WithoutCapabilitiesRootCannotDoRootThings) {
  BusyboxBundle b = Bundle({"sh", "-c", "hostname x 2>&1; echo rc=$?"});
  b.Write();  // the default spec keeps only AUDIT_WRITE, KILL and NET_BIND_SERVICE
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out << r.err;
}

TEST_F(RuntimeSecurity, CapabilityTheRuntimeLacksIsRefusedAtCreate) {
  std::ifstream status("/proc/self/status");
  std::string text((std::istreambuf_iterator<char>(status)), {});
  uint64_t bnd = std::stoull(StatusField(text, "CapBnd"), nullptr, 16);
  if (bnd & (1ULL << 24)) GTEST_SKIP() << "this host's bounding set has CAP_SYS_RESOURCE";
  BusyboxBundle b = Bundle({"true"});
  b.spec()["process"]["capabilities"]["bounding"].push_back("CAP_SYS_RESOURCE");
  b.Write();
  CommandResult r = Rt({"create", "--bundle", b.dir(), id_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("process.capabilities.bounding: CAP_SYS_RESOURCE is not in "
                       "berth-runtime's own bounding set"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(State(), "gone");
}

TEST_F(RuntimeSecurity, SeccompReturnsTheConfiguredErrno) {
  BusyboxBundle b =
      Bundle({"sh", "-c", "mkdir /tmp/d; echo mkdir=$?; touch /tmp/f; echo touch=$?"});
  b.spec()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                  {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
                                  {"syscalls",
                                   {{{"names", {"mkdir", "mkdirat", "not_a_syscall_anywhere"}},
                                     {"action", "SCMP_ACT_ERRNO"},
                                     {"errnoRet", 95}}}}};  // EOPNOTSUPP
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Operation not supported"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("mkdir=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("touch=0"), std::string::npos) << r.out;
}

TEST_F(RuntimeSecurity, SeccompArgumentConditions) {
  // personality(0xffffffff) only queries; block every other value, as Docker's profile does.
  BusyboxBundle b = Bundle({"sh", "-c", "setarch linux32 true; echo rc=$?"});
  b.spec()["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls",
       {{{"names", {"personality"}},
         {"action", "SCMP_ACT_ERRNO"},
         {"errnoRet", 1},
         {"args", {{{"index", 0}, {"value", 0xffffffffULL}, {"op", "SCMP_CMP_NE"}}}}}}}};
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out << r.err;
}

TEST_F(RuntimeSecurity, BadSeccompProfileFailsCreate) {
  BusyboxBundle b = Bundle({"true"});
  b.spec()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_MAYBE"}};
  b.Write();
  CommandResult r = Rt({"create", "--bundle", b.dir(), id_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("linux.seccomp.defaultAction: unknown action \"SCMP_ACT_MAYBE\""),
            std::string::npos)
      << r.err;
}

TEST_F(RuntimeSecurity, RlimitsAreSetAndImpossibleOnesRefused) {
  BusyboxBundle b = Bundle({"grep", "open files", "/proc/self/limits"});
  b.spec()["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 100}, {"hard", 200}}};
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("100                  200"), std::string::npos) << r.out;

  b.spec()["process"]["rlimits"] = {
      {{"type", "RLIMIT_NOFILE"}, {"soft", 1048576}, {"hard", 1048576}}};
  b.Write();
  std::ifstream status("/proc/self/status");
  std::string text((std::istreambuf_iterator<char>(status)), {});
  if (std::stoull(StatusField(text, "CapEff"), nullptr, 16) & (1ULL << 24)) {
    GTEST_SKIP() << "this host lets root raise limits";
  }
  CommandResult big = Rt({"create", "--bundle", b.dir(), id_});
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_NE(big.err.find("RLIMIT_NOFILE hard limit 1048576 is above berth-runtime's own"),
            std::string::npos)
      << big.err;
}

// CVE-2024-21626: nothing the runtime had open reaches the container.
TEST_F(RuntimeSecurity, NoHostFdLeaksIntoTheContainer) {
  int leaked = open("/", O_RDONLY | O_DIRECTORY);  // inherited by berth-runtime on purpose
  ASSERT_GE(leaked, 3);
  BusyboxBundle b = Bundle({"ls", "/proc/self/fd"});
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  close(leaked);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n1\n2\n3\n") << "only stdio and ls's own directory fd";
}

// CVE-2024-21626's other half: a cwd through a /proc magic link is refused.
TEST_F(RuntimeSecurity, CwdThroughAProcMagicLinkIsRefused) {
  BusyboxBundle b = Bundle({"pwd"});
  b.spec()["process"]["cwd"] = "/proc/self/cwd";
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("process.cwd /proc/self/cwd"), std::string::npos) << r.err;
}

// CVE-2019-5736: until it execs, a container process is a copy of berth-runtime; processes
// already in the container cannot open it through /proc/<pid>/exe.
TEST_F(RuntimeSecurity, RuntimeBinaryIsUnreachableThroughProcExe) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  ASSERT_EQ(Rt({"create", "--bundle", b.dir(), id_}).exit_code, 0);
  // The init waits for `start` as a copy of berth-runtime: exactly the window of the attack.
  CommandResult r = Rt(
      {"exec", id_, "sh", "-c", "cat /proc/1/exe > /dev/null 2>&1 && echo OPENED || echo DENIED"});
  EXPECT_EQ(r.out, "DENIED\n") << r.err;
}

// CVE-2025-31133 family: an image's /dev/null that is not the null device is never bound
// over the masked paths.
TEST_F(RuntimeSecurity, PlantedDevNullIsNotUsedForMasking) {
  BusyboxBundle b = Bundle({"true"});
  nlohmann::json mounts = nlohmann::json::array();
  for (const auto& m : b.spec()["mounts"]) {
    if (m["destination"] != "/dev" && m["destination"] != "/dev/pts" &&
        m["destination"] != "/dev/shm" && m["destination"] != "/dev/mqueue") {
      mounts.push_back(m);
    }
  }
  b.spec()["mounts"] = mounts;  // the image's own /dev, planted below
  b.Write();
  ASSERT_EQ(symlink("/proc/sys/kernel/core_pattern", (b.rootfs() + "/dev/null").c_str()), 0);
  CommandResult r = Rt({"create", "--bundle", b.dir(), id_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("it is not the null device"), std::string::npos) << r.err;
}

// A mount destination that an image routes through a symlink to a host path still lands inside
// the rootfs.
TEST_F(RuntimeSecurity, MountDestinationSymlinksResolveInsideTheRootfs) {
  const std::string host_target = tmp_.path() + "/host-target";
  ASSERT_EQ(mkdir(host_target.c_str(), 0755), 0);
  BusyboxBundle b = Bundle({"true"});
  ASSERT_EQ(symlink(host_target.c_str(), (b.rootfs() + "/escape").c_str()), 0);
  b.spec()["mounts"].push_back({{"destination", "/escape/x"},
                                {"type", "tmpfs"},
                                {"source", "tmpfs"},
                                {"options", {"size=1m"}}});
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  struct stat st;
  EXPECT_NE(stat((host_target + "/x").c_str(), &st), 0) << "created on the host";
  EXPECT_EQ(stat((b.rootfs() + host_target + "/x").c_str(), &st), 0) << "not inside the rootfs";
}

// linux.resources.devices is enforced by an eBPF program on the container's cgroup: a device
// node that is present but not allowed cannot be opened; an allow rule opens it; the standard
// nodes always work.
TEST_F(RuntimeSecurity, DeviceRulesAreEnforced) {
  if (access("/dev/net/tun", F_OK) != 0) GTEST_SKIP() << "no /dev/net/tun on this host";
  BusyboxBundle b =
      Bundle({"sh", "-c",
              "echo x > /dev/null && echo null-ok; "
              "(exec 3<>/dev/tun) 2>/dev/null && echo tun-opened || echo tun-denied"});
  b.spec()["mounts"].push_back({{"destination", "/dev/tun"},
                                {"type", "bind"},
                                {"source", "/dev/net/tun"},
                                {"options", {"bind"}}});
  b.spec()["linux"]["resources"]["devices"] = {{{"allow", false}, {"access", "rwm"}}};
  b.Write();
  CommandResult denied = Rt({"run", "--bundle", b.dir(), id_});
  ASSERT_EQ(denied.exit_code, 0) << denied.err;
  EXPECT_EQ(denied.out, "null-ok\ntun-denied\n");

  b.spec()["linux"]["resources"]["devices"].push_back(
      {{"allow", true}, {"type", "c"}, {"major", 10}, {"minor", 200}, {"access", "rw"}});
  b.Write();
  CommandResult allowed = Rt({"run", "--bundle", b.dir(), id_});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_EQ(allowed.out, "null-ok\ntun-opened\n");
}

}  // namespace
}  // namespace berth::e2e
