// Container defaults seen from inside: capabilities, masked and read-only paths, seccomp; flags.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "e2e/security_fixture.h"

namespace berth::e2e {
namespace {

// ---------------------------------------------------------------------------------------------
// Defaults, seen from inside a container

using DefaultsTest = EngineTest;

// "Key:\tvalue" lines of /proc/self/status.
std::string StatusField(const std::string& status, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (absl::ConsumePrefix(&line, key + ":")) return std::string(absl::StripAsciiWhitespace(line));
  }
  return "";
}

std::map<std::string, std::string> ProbeResults(const std::string& out) {
  std::map<std::string, std::string> m;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    m[kv.first] = kv.second;
  }
  return m;
}

// Docker's default 14: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
// NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
constexpr char kDockerCaps[] = "00000000a80425fb";

TEST_F(DefaultsTest, CapabilitiesMaskedPathsReadOnlyPathsAndSeccompAreDockers) {
  Load("default");
  const std::string status = Run({}, {"cat", "/proc/self/status"});
  EXPECT_EQ(StatusField(status, "CapEff"), kDockerCaps);
  EXPECT_EQ(StatusField(status, "CapPrm"), kDockerCaps);
  EXPECT_EQ(StatusField(status, "CapBnd"), kDockerCaps);
  EXPECT_EQ(StatusField(status, "CapAmb"), "0000000000000000");
  EXPECT_EQ(StatusField(status, "NoNewPrivs"), "1");
  EXPECT_EQ(StatusField(status, "Seccomp"), "2");

  // Masked: files read as empty (a bind of /dev/null), directories are empty read-only tmpfs.
  // Only the paths this kernel has: a container's /proc and /sys show what the host's do.
  std::string script, want_masked;
  for (const char* path :
       {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap"}) {
    struct stat st;
    if (stat(path, &st) != 0) continue;
    const std::string p(path);
    if (S_ISDIR(st.st_mode)) {
      script += "echo " + p + " $(ls -A " + p + " | wc -l) $(touch " + p +
                "/x 2>/dev/null && echo writable || echo refused); ";
      want_masked += p + " 0 refused\n";
    } else {
      script += "echo " + p + " $(wc -c < " + p + ") $(stat -c %t:%T " + p + "); ";
      want_masked += p + " 0 1:3\n";
    }
  }
  ASSERT_FALSE(want_masked.empty());
  EXPECT_EQ(Run({}, {"sh", "-c", script}), want_masked);
  // Read-only: /proc/sys and friends are read-only mounts, so even root with CAP_DAC_OVERRIDE
  // cannot write them.
  std::string want_ro;
  script =
      "grep -E ' /proc/(sys|bus|fs|irq|sysrq-trigger) ' /proc/self/mounts | "
      "awk '{print $2, substr($4, 1, 2)}' | sort; "
      "(echo x > /proc/sys/kernel/hostname) 2>/dev/null && echo writable || echo refused";
  for (const char* path :
       {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
    struct stat st;
    if (stat(path, &st) == 0) want_ro += std::string(path) + " ro\n";
  }
  EXPECT_EQ(Run({}, {"sh", "-c", script}), want_ro + "refused\n");

  // Seccomp: what Docker's default profile refuses is refused; ordinary calls work.
  std::map<std::string, std::string> p = ProbeResults(Run({}, {"/bin/seccomp-probe"}));
  EXPECT_EQ(p["keyctl"], "EPERM");
  EXPECT_EQ(p["add_key"], "EPERM");
  EXPECT_EQ(p["kexec_load"], "EPERM");
  EXPECT_EQ(p["unshare_user"], "EPERM");
  EXPECT_EQ(p["mount_tmpfs"], "EPERM");
  EXPECT_EQ(p["clone3"], "ENOSYS");  // so that libc falls back to clone, which is filtered
  EXPECT_EQ(p["userfaultfd"], "EPERM");
  EXPECT_EQ(p["personality_query"], "0");
  EXPECT_EQ(p["fork"], "0");
  EXPECT_EQ(p["getpid"], "0");
}

TEST_F(DefaultsTest, SecurityOptSeccompUnconfinedAndPrivilegedRemoveTheFilter) {
  Load("default");
  const std::map<std::string, std::string> confined = ProbeResults(Run({}, {"/bin/seccomp-probe"}));
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--security-opt", "seccomp=unconfined"},
        std::vector<std::string>{"--privileged"}}) {
    const std::string status = Run(flags, {"cat", "/proc/self/status"});
    EXPECT_EQ(StatusField(status, "Seccomp"), "0") << flags[0];
    std::map<std::string, std::string> p = ProbeResults(Run(flags, {"/bin/seccomp-probe"}));
    EXPECT_NE(p["keyctl"], "EPERM") << flags[0];
    EXPECT_NE(p["add_key"], "EPERM") << flags[0];
    EXPECT_EQ(p["clone3"], "0") << flags[0];
    EXPECT_EQ(p["unshare_user"], "0") << flags[0];
    EXPECT_EQ(p["fork"], "0");
  }
  // unconfined keeps the capability set; privileged widens it to the host's.
  std::string status = Run({"--security-opt", "seccomp=unconfined"}, {"cat", "/proc/self/status"});
  EXPECT_EQ(StatusField(status, "CapEff"), kDockerCaps);
  status = Run({"--privileged"}, {"cat", "/proc/self/status"});
  std::ifstream self("/proc/self/status");
  std::stringstream ours;
  ours << self.rdbuf();
  EXPECT_EQ(StatusField(status, "CapEff"), StatusField(ours.str(), "CapBnd"));
  // --privileged also drops the masks.
  EXPECT_EQ(Run({"--privileged"}, {"sh", "-c",
                                   "grep -c -E ' /(proc/(keys|timer_list|sys)|sys/firmware) ' "
                                   "/proc/self/mounts || true"}),
            "0\n");
  // no-new-privileges can be turned off, as Docker's default has it.
  status = Run({"--security-opt", "no-new-privileges=false"}, {"cat", "/proc/self/status"});
  EXPECT_EQ(StatusField(status, "NoNewPrivs"), "0");
  EXPECT_EQ(StatusField(status, "Seccomp"), "2");
  // A bad option is refused before anything is made.
  CommandResult r = Berth({"run", "--rm", "--security-opt", "seccomp", "busybox", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(absl::StrContains(r.err, "invalid --security-opt")) << r.err;
}

uint64_t Hex(const std::string& s) {
  uint64_t v = 0;
  EXPECT_TRUE(absl::SimpleHexAtoi(s, &v)) << s;
  return v;
}

TEST_F(DefaultsTest, CapAddAndCapDropChangeExactlyWhatTheySay) {
  Load("default");
  const uint64_t base = Hex(kDockerCaps);
  constexpr uint64_t kNetAdmin = 1ull << 12, kSysAdmin = 1ull << 21, kNetRaw = 1ull << 13,
                     kMknod = 1ull << 27;
  std::string status =
      Run({"--cap-add", "NET_ADMIN", "--cap-drop", "net_raw", "--cap-drop", "CAP_MKNOD"},
          {"cat", "/proc/self/status"});
  EXPECT_EQ(Hex(StatusField(status, "CapEff")), (base | kNetAdmin) & ~kNetRaw & ~kMknod);
  EXPECT_EQ(Hex(StatusField(status, "CapBnd")), (base | kNetAdmin) & ~kNetRaw & ~kMknod);
  status = Run({"--cap-drop", "ALL"}, {"cat", "/proc/self/status"});
  EXPECT_EQ(Hex(StatusField(status, "CapEff")), 0u);
  status = Run({"--cap-drop", "ALL", "--cap-add", "CHOWN"}, {"cat", "/proc/self/status"});
  EXPECT_EQ(Hex(StatusField(status, "CapEff")), 1u);

  // CAP_SYS_ADMIN widens the seccomp profile as Docker's: mount and unshare work, the kernel
  // keyring stays closed, and the filter is still there.
  status = Run({"--cap-add", "SYS_ADMIN"}, {"cat", "/proc/self/status"});
  EXPECT_EQ(Hex(StatusField(status, "CapEff")), base | kSysAdmin);
  EXPECT_EQ(StatusField(status, "Seccomp"), "2");
  std::map<std::string, std::string> p =
      ProbeResults(Run({"--cap-add", "SYS_ADMIN"}, {"/bin/seccomp-probe"}));
  EXPECT_EQ(p["mount_tmpfs"], "0");
  EXPECT_EQ(p["unshare_user"], "0");
  EXPECT_EQ(p["clone3"], "0");
  EXPECT_EQ(p["keyctl"], "EPERM");
  EXPECT_EQ(p["kexec_load"], "EPERM");
}

}  // namespace
}  // namespace berth::e2e
