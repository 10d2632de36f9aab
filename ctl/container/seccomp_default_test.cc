// The default profile as data, and as berth-runtime builds and loads it: in a child process,
// with no_new_privs (so no privilege is needed), the calls Docker's profile refuses are refused
// and ordinary ones still work. The runtime's loader is linked here (test-only) so that the
// profile is checked by the code that will apply it.
#include "ctl/container/seccomp_default.h"

#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "runtime/linux/seccomp.h"

namespace berth::ctl {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kDockerDefaultCaps = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

std::vector<std::string> AllowedNames(const json& profile) {
  std::vector<std::string> out;
  for (const json& r : profile["syscalls"]) {
    if (r["action"] == "SCMP_ACT_ALLOW" && !r.contains("args")) {
      for (const json& n : r["names"]) out.push_back(n);
    }
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(DefaultSeccompProfile, DeniesByDefaultAndAllowsTheCommonCalls) {
  const json p = DefaultSeccompProfile(kDockerDefaultCaps);
  EXPECT_EQ(p["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(p["defaultErrnoRet"], EPERM);
#ifdef __x86_64__
  EXPECT_EQ(p["architectures"], json({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
#endif
  const std::vector<std::string> allowed = AllowedNames(p);
  for (const char* name : {"read", "write", "openat", "execve", "mmap", "futex", "socket",
                           "epoll_wait", "chroot", "fork", "setuid", "capset"}) {
    EXPECT_TRUE(Contains(allowed, name)) << name;
  }
  for (const char* name : {"keyctl",
                           "add_key",
                           "request_key",
                           "kexec_load",
                           "kexec_file_load",
                           "mount",
                           "umount2",
                           "unshare",
                           "setns",
                           "pivot_root",
                           "init_module",
                           "bpf",
                           "perf_event_open",
                           "userfaultfd",
                           "io_uring_setup",
                           "reboot",
                           "swapon",
                           "acct",
                           "clone",
                           "clone3",
                           "open_by_handle_at",
                           "settimeofday",
                           "personality",
                           "syslog",
                           "iopl"}) {
    EXPECT_FALSE(Contains(allowed, name)) << name;
  }
}

TEST(DefaultSeccompProfile, CapabilitiesWidenItAsDockers) {
  std::vector<std::string> caps = kDockerDefaultCaps;
  caps.push_back("CAP_SYS_ADMIN");
  caps.push_back("CAP_SYS_PTRACE");
  const std::vector<std::string> allowed = AllowedNames(DefaultSeccompProfile(caps));
  for (const char* name : {"mount", "umount2", "unshare", "setns", "clone", "clone3", "bpf",
                           "syslog", "kcmp", "pidfd_getfd"}) {
    EXPECT_TRUE(Contains(allowed, name)) << name;
  }
  EXPECT_FALSE(Contains(allowed, "keyctl"));
  EXPECT_FALSE(Contains(allowed, "init_module"));

  caps = kDockerDefaultCaps;
  caps.erase(std::find(caps.begin(), caps.end(), "CAP_SYS_CHROOT"));
  EXPECT_FALSE(Contains(AllowedNames(DefaultSeccompProfile(caps)), "chroot"));
}

// Runs `probe` in a child that has loaded `profile` through berth-runtime's loader; returns
// the child's exit code (the probe's result), or -1.
int InChildWithFilter(const json& profile, int (*probe)()) {
  const json spec = {{"linux", {{"seccomp", profile}}}};
  absl::StatusOr<std::unique_ptr<runtime::SeccompFilter>> f =
      runtime::SeccompFilter::FromSpec(spec.dump());
  EXPECT_TRUE(f.ok()) << f.status();
  if (!f.ok() || *f == nullptr) return -1;
  EXPECT_GT((*f)->rules(), 300);
  pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(100);
    if (!(*f)->Load().ok()) _exit(101);
    _exit(probe());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Each check returns its number on failure, 0 when everything behaved.
int RefusedCalls() {
  errno = 0;
  if (syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0) != -1 || errno != EPERM) return 1;
  errno = 0;
  if (syscall(SYS_add_key, "user", "k", "v", 1, -3) != -1 || errno != EPERM) return 2;
  errno = 0;
  if (syscall(SYS_kexec_load, 0, 0, nullptr, 0) != -1 || errno != EPERM) return 3;
  errno = 0;
  if (unshare(CLONE_NEWUSER) != -1 || errno != EPERM) return 4;
  errno = 0;
  if (mount("none", "/", "tmpfs", 0, nullptr) != -1 || errno != EPERM) return 5;
  errno = 0;
  clone_args args{};
  if (syscall(SYS_clone3, &args, sizeof(args)) != -1 || errno != ENOSYS) return 6;
  errno = 0;
  if (syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0) != -1 || errno != EPERM) return 7;
  errno = 0;
  if (personality(0x0400000 /* READ_IMPLIES_EXEC */) != -1 || errno != EPERM) return 8;
  errno = 0;
  if (syscall(SYS_userfaultfd, 0) != -1 || errno != EPERM) return 9;
  return 0;
}

int OrdinaryCalls() {
  if (getpid() <= 0) return 1;
  if (personality(0xffffffff) == -1) return 2;
  pid_t child = fork();  // glibc's fork is clone without namespace flags
  if (child < 0) return 3;
  if (child == 0) _exit(0);
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) return 4;
  int fds[2];
  if (pipe(fds) != 0 || write(fds[1], "x", 1) != 1) return 5;
  return 0;
}

TEST(DefaultSeccompProfile, LoadedByTheRuntimeItRefusesWhatDockersRefuses) {
  const json p = DefaultSeccompProfile(kDockerDefaultCaps);
  EXPECT_EQ(InChildWithFilter(p, RefusedCalls), 0);
  EXPECT_EQ(InChildWithFilter(p, OrdinaryCalls), 0);
}

TEST(SeccompProfileFromFile, TakesDockersFormat) {
  const json docker = json::parse(R"({
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "archMap": [
      {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
      {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
    ],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "io"},
      {"name": "getpid", "action": "SCMP_ACT_ALLOW"},
      {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]},
       "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]},
       "minKernel": "4.8"}
    ]})");
  absl::StatusOr<json> p = SeccompProfileFromFile(docker, kDockerDefaultCaps);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->contains("archMap"));
  const std::vector<std::string> allowed = AllowedNames(*p);
  EXPECT_TRUE(Contains(allowed, "getpid"));
  EXPECT_FALSE(Contains(allowed, "mount"));
  for (const json& r : (*p)["syscalls"]) {
    EXPECT_FALSE(r.contains("comment") || r.contains("includes") || r.contains("excludes") ||
                 r.contains("minKernel") || r.contains("name"))
        << r;
  }
#ifdef __x86_64__
  EXPECT_EQ((*p)["architectures"], json({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  EXPECT_TRUE(Contains(allowed, "arch_prctl"));
#endif
  std::vector<std::string> admin = kDockerDefaultCaps;
  admin.push_back("CAP_SYS_ADMIN");
  absl::StatusOr<json> a = SeccompProfileFromFile(docker, admin);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(Contains(AllowedNames(*a), "mount"));
  // The runtime takes the result.
  const json spec = {{"linux", {{"seccomp", *p}}}};
  EXPECT_TRUE(runtime::SeccompFilter::FromSpec(spec.dump()).ok());

  EXPECT_FALSE(SeccompProfileFromFile(json::array(), {}).ok());
  EXPECT_FALSE(SeccompProfileFromFile(json::object(), {}).ok());
  EXPECT_FALSE(
      SeccompProfileFromFile(json{{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", 3}}, {}).ok());
}

}  // namespace
}  // namespace berth::ctl
