#include "ctl/container/seccomp_default.h"

#include <algorithm>
#include <cerrno>
#include <initializer_list>

#include "absl/strings/str_cat.h"

namespace berth::ctl {
namespace {

using json = nlohmann::json;

// What every container may call. Names this machine's libseccomp does not know (other
// architectures' calls, newer kernels' calls) are skipped by the runtime, as runc does, so the
// list can name the 32-bit and newer variants too.
constexpr const char* kAllowed[] = {
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "get_robust_list",
    "get_thread_area",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "io_setup",
    "io_submit",
    "ioctl",
    "ioprio_get",
    "ioprio_set",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "setsid",
    "setsockopt",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socket",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    // Debugging one's own children: the kernel (since 4.8) checks ptrace against seccomp, so
    // a traced process cannot be used to escape the filter.
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
};

// Architecture-specific calls every container may make.
#if defined(__x86_64__) || defined(__i386__)
constexpr const char* kArchAllowed[] = {"arch_prctl", "modify_ldt"};
#elif defined(__aarch64__) || defined(__arm__)
constexpr const char* kArchAllowed[] = {"arm_fadvise64_64", "arm_sync_file_range",
                                        "sync_file_range2", "breakpoint",
                                        "cacheflush",       "set_tls"};
#else
constexpr const char* kArchAllowed[] = {"sync_file_range2"};
#endif

// Calls that a capability already guards: allowed when the container holds one of `caps`.
struct CapabilityRule {
  std::initializer_list<const char*> caps;
  std::initializer_list<const char*> names;
};
const CapabilityRule kCapabilityRules[] = {
    {{"CAP_SYS_ADMIN"},
     {"fanotify_init",  "fsconfig",   "fsmount",       "fsopen",      "fspick",
      "lookup_dcookie", "mount",      "mount_setattr", "move_mount",  "name_to_handle_at",
      "open_tree",      "pivot_root", "quotactl",      "quotactl_fd", "setdomainname",
      "sethostname",    "setns",      "umount",        "umount2",     "unshare",
      "clone",          "clone3"}},
    {{"CAP_SYS_ADMIN", "CAP_BPF"}, {"bpf"}},
    {{"CAP_SYS_ADMIN", "CAP_PERFMON"}, {"perf_event_open"}},
    {{"CAP_SYS_ADMIN", "CAP_SYSLOG"}, {"syslog"}},
    {{"CAP_SYS_BOOT"}, {"reboot"}},
    {{"CAP_SYS_CHROOT"}, {"chroot"}},
    {{"CAP_SYS_MODULE"}, {"delete_module", "init_module", "finit_module"}},
    {{"CAP_SYS_PACCT"}, {"acct"}},
    {{"CAP_SYS_PTRACE"}, {"kcmp", "pidfd_getfd", "process_madvise"}},
    {{"CAP_SYS_RAWIO"}, {"iopl", "ioperm"}},
    {{"CAP_SYS_TIME"}, {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
    {{"CAP_SYS_TTY_CONFIG"}, {"vhangup"}},
    {{"CAP_SYS_NICE"}, {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {{"CAP_DAC_READ_SEARCH"}, {"open_by_handle_at"}},
};

// clone's flags that make namespaces (NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
// NEWNET): a clone with none of them is an ordinary fork or thread.
constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;

// personality(2) personas that change nothing dangerous: PER_LINUX, PER_LINUX32,
// UNAME26, PER_LINUX32|UNAME26, and the query 0xffffffff.
constexpr uint64_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

std::vector<std::string> HostArchitectures() {
#if defined(__x86_64__)
  return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__i386__)
  return {"SCMP_ARCH_X86"};
#elif defined(__aarch64__)
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#elif defined(__arm__)
  return {"SCMP_ARCH_ARM"};
#else
  return {};  // the native architecture only
#endif
}

// Docker's spelling of this machine in "includes"/"excludes" arches, and its archMap key.
const char* HostDockerArch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__i386__)
  return "386";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__arm__)
  return "arm";
#else
  return "";
#endif
}

bool Has(const std::vector<std::string>& caps, const std::string& cap) {
  return std::find(caps.begin(), caps.end(), cap) != caps.end();
}

json Rule(std::vector<std::string> names, const char* action = "SCMP_ACT_ALLOW") {
  return json{{"names", std::move(names)}, {"action", action}};
}

}  // namespace

json DefaultSeccompProfile(const std::vector<std::string>& caps) {
  std::vector<std::string> allowed(std::begin(kAllowed), std::end(kAllowed));
  allowed.insert(allowed.end(), std::begin(kArchAllowed), std::end(kArchAllowed));
  json syscalls = json::array();
  syscalls.push_back(Rule(std::move(allowed)));
  for (uint64_t persona : kPersonalities) {
    json r = Rule({"personality"});
    r["args"] = json::array({{{"index", 0}, {"value", persona}, {"op", "SCMP_CMP_EQ"}}});
    syscalls.push_back(std::move(r));
  }
  bool sys_admin = false;
  for (const CapabilityRule& rule : kCapabilityRules) {
    bool held = false;
    for (const char* cap : rule.caps) held |= Has(caps, cap);
    if (!held) continue;
    sys_admin |= std::find(rule.caps.begin(), rule.caps.end(), std::string("CAP_SYS_ADMIN")) !=
                 rule.caps.end();
    syscalls.push_back(Rule(std::vector<std::string>(rule.names.begin(), rule.names.end())));
  }
  if (!sys_admin) {
    // clone without namespace flags (on s390 the flags are the second argument: not a
    // target of berth's), and clone3, whose flags sit in memory a filter cannot read, answered
    // ENOSYS so that glibc falls back to clone.
    json clone = Rule({"clone"});
    clone["args"] = json::array({{{"index", 0},
                                  {"value", kCloneNamespaceFlags},
                                  {"valueTwo", 0},
                                  {"op", "SCMP_CMP_MASKED_EQ"}}});
    syscalls.push_back(std::move(clone));
    json clone3 = Rule({"clone3"}, "SCMP_ACT_ERRNO");
    clone3["errnoRet"] = ENOSYS;
    syscalls.push_back(std::move(clone3));
  }
  return json{{"defaultAction", "SCMP_ACT_ERRNO"},
              {"defaultErrnoRet", EPERM},
              {"architectures", HostArchitectures()},
              {"syscalls", std::move(syscalls)}};
}

absl::StatusOr<json> SeccompProfileFromFile(const json& profile,
                                            const std::vector<std::string>& caps) {
  auto invalid = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("seccomp profile: ", what));
  };
  if (!profile.is_object()) return invalid("not a JSON object");
  if (!profile.contains("defaultAction") || !profile["defaultAction"].is_string()) {
    return invalid("defaultAction is missing or not a string");
  }
  json out = profile;
  out.erase("archMap");
  if (!profile.contains("architectures") && profile.contains("archMap")) {
    const json& map = profile["archMap"];
    if (!map.is_array()) return invalid("archMap is not a list");
    json archs = json::array();
    for (const json& m : map) {
      if (!m.is_object() || !m.contains("architecture") || !m["architecture"].is_string()) {
        return invalid("archMap entries need an architecture");
      }
      // Docker keeps the entry of the machine's own architecture, with its sub-architectures.
      const std::string arch = m["architecture"];
      if (HostArchitectures().empty() || arch != HostArchitectures().front()) continue;
      archs.push_back(arch);
      if (m.contains("subArchitectures") && m["subArchitectures"].is_array()) {
        for (const json& s : m["subArchitectures"]) archs.push_back(s);
      }
    }
    out["architectures"] = std::move(archs);
  }
  if (!profile.contains("syscalls")) return out;
  if (!profile["syscalls"].is_array()) return invalid("syscalls is not a list");
  json syscalls = json::array();
  const std::string host_arch = HostDockerArch();
  for (const json& rule : profile["syscalls"]) {
    if (!rule.is_object()) return invalid("a syscalls entry is not an object");
    // Docker's conditions: every listed capability held (includes), none held (excludes),
    // this machine among the arches (includes) or not (excludes).
    auto list = [&](const char* which, const char* key) -> std::vector<std::string> {
      std::vector<std::string> v;
      if (auto c = rule.find(which); c != rule.end() && c->is_object()) {
        if (auto l = c->find(key); l != c->end() && l->is_array()) {
          for (const json& s : *l) {
            if (s.is_string()) v.push_back(s.get<std::string>());
          }
        }
      }
      return v;
    };
    bool applies = true;
    for (const std::string& cap : list("includes", "caps")) applies &= Has(caps, cap);
    for (const std::string& cap : list("excludes", "caps")) applies &= !Has(caps, cap);
    const std::vector<std::string> in_arches = list("includes", "arches");
    if (!in_arches.empty()) applies &= Has(in_arches, host_arch);
    applies &= !Has(list("excludes", "arches"), host_arch);
    if (!applies) continue;
    json r = rule;
    for (const char* key : {"includes", "excludes", "comment", "minKernel"}) r.erase(key);
    if (r.contains("name")) {
      if (!r["name"].is_string()) return invalid("a syscalls entry's name is not a string");
      json names = r.value("names", json::array());
      names.push_back(r["name"]);
      r["names"] = std::move(names);
      r.erase("name");
    }
    syscalls.push_back(std::move(r));
  }
  out["syscalls"] = std::move(syscalls);
  return out;
}

}  // namespace berth::ctl
