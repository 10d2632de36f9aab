#include "runtime/linux/process.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/safe_path.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth::runtime {
namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct RlimitName {
  const char* name;
  int resource;
};

constexpr RlimitName kRlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

absl::Status SetRlimits(const std::vector<Rlimit>& rlimits) {
  for (const Rlimit& r : rlimits) {
    absl::StatusOr<int> found = RlimitResource(r.type);
    if (!found.ok()) return found.status();
    const int resource = *found;
    rlimit lim{.rlim_cur = r.soft, .rlim_max = r.hard};
    if (::setrlimit(resource, &lim) != 0) {
      int err = errno;
      rlimit cur{};
      ::getrlimit(resource, &cur);
      return absl::Status(
          ErrnoToCode(err),
          absl::StrCat("setrlimit(", r.type, ", soft ", r.soft, ", hard ", r.hard,
                       "): ", std::strerror(err), " (the runtime's own hard limit is ",
                       cur.rlim_max, " and it cannot raise it)"));
    }
  }
  return absl::OkStatus();
}

std::string EnvValue(const std::vector<std::string>& env, absl::string_view key) {
  for (const std::string& e : env) {
    if (absl::StartsWith(e, key) && e.size() > key.size() && e[key.size()] == '=') {
      return e.substr(key.size() + 1);
    }
  }
  return "";
}

// struct sched_attr from <linux/sched/types.h>, which glibc 2.36 does not wrap.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

absl::Status SetScheduler(const Scheduler& s) {
  static const std::pair<const char*, uint32_t> kPolicies[] = {
      {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},
      {"SCHED_BATCH", 3}, {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
  };
  static const std::pair<const char*, uint64_t> kFlags[] = {
      {"SCHED_FLAG_RESET_ON_FORK", 0x01},  {"SCHED_FLAG_RECLAIM", 0x02},
      {"SCHED_FLAG_DL_OVERRUN", 0x04},     {"SCHED_FLAG_KEEP_POLICY", 0x08},
      {"SCHED_FLAG_KEEP_PARAMS", 0x10},    {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
      {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
  };
  SchedAttr attr{};
  attr.size = sizeof(attr);
  bool known = false;
  for (const auto& [name, v] : kPolicies) {
    if (s.policy == name) {
      attr.sched_policy = v;
      known = true;
    }
  }
  if (!known) {
    return absl::InvalidArgumentError(
        absl::StrCat("process.scheduler.policy: unknown policy \"", s.policy, "\""));
  }
  for (const std::string& f : s.flags) {
    bool found = false;
    for (const auto& [name, v] : kFlags) {
      if (f == name) {
        attr.sched_flags |= v;
        found = true;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(
          absl::StrCat("process.scheduler.flags: unknown flag \"", f, "\""));
    }
  }
  attr.sched_nice = s.nice;
  attr.sched_priority = static_cast<uint32_t>(s.priority);
  attr.sched_runtime = s.runtime;
  attr.sched_deadline = s.deadline;
  attr.sched_period = s.period;
  if (::syscall(SYS_sched_setattr, 0, &attr, 0) != 0) {
    return ErrnoStatus(absl::StrCat("sched_setattr(", s.policy, ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status SetIoPriority(const IoPriority& io) {
  int cls = io.io_class == "IOPRIO_CLASS_RT"     ? 1
            : io.io_class == "IOPRIO_CLASS_BE"   ? 2
            : io.io_class == "IOPRIO_CLASS_IDLE" ? 3
                                                 : 0;
  if (cls == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("process.ioPriority.class: unknown class \"", io.io_class, "\""));
  }
  const int value = (cls << 13) | (io.priority & 0x1fff);
  if (::syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, value) != 0) {
    return ErrnoStatus(absl::StrCat("ioprio_set(", io.io_class, ", ", io.priority, ")"), errno);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> RlimitResource(const std::string& name) {
  for (const RlimitName& n : kRlimits) {
    if (name == n.name) return n.resource;
  }
  return absl::InvalidArgumentError(absl::StrCat("process.rlimits: unknown limit \"", name, "\""));
}

absl::Status SetupProcess(const Process& p, const ProcessSecurity& sec) {
  if (absl::Status st = SetRlimits(p.rlimits); !st.ok()) return st;
  if (p.oom_score_adj) {
    std::string v = absl::StrCat(*p.oom_score_adj);
    absl::StatusOr<UniqueFd> fd = sys::Open("/proc/self/oom_score_adj", O_WRONLY);
    if (!fd.ok()) return fd.status();
    if (::write(fd->get(), v.data(), v.size()) < 0) {
      return ErrnoStatus(absl::StrCat("write(/proc/self/oom_score_adj, ", v, ")"), errno);
    }
  }
  if (p.scheduler) {
    if (absl::Status st = SetScheduler(*p.scheduler); !st.ok()) return st;
  }
  if (p.io_priority) {
    if (absl::Status st = SetIoPriority(*p.io_priority); !st.ok()) return st;
  }
  if (sec.seccomp != nullptr && !p.no_new_privileges) {
    if (absl::Status st = sec.seccomp->Load(); !st.ok()) return st;
  }
  if (sec.capabilities) {
    if (absl::Status st = ApplyBoundingSet(*sec.capabilities); !st.ok()) return st;
  }
  std::vector<gid_t> groups(p.user.additional_gids.begin(), p.user.additional_gids.end());
  if (::setgroups(groups.size(), groups.data()) != 0) {
    return ErrnoStatus("setgroups(process.user.additionalGids)", errno);
  }
  if (::setresgid(p.user.gid, p.user.gid, p.user.gid) != 0) {
    return ErrnoStatus(absl::StrCat("setresgid(", p.user.gid, ")"), errno);
  }
  if (::setresuid(p.user.uid, p.user.uid, p.user.uid) != 0) {
    return ErrnoStatus(absl::StrCat("setresuid(", p.user.uid, ")"), errno);
  }
  if (sec.capabilities) {
    if (absl::Status st = ApplyCapabilitySets(*sec.capabilities); !st.ok()) return st;
  }
  if (p.user.umask) ::umask(*p.user.umask);
  // The cwd is resolved inside the container's root and may not pass through /proc magic
  // links: a cwd of /proc/self/fd/N must not lead to a directory outside (CVE-2024-21626).
  absl::StatusOr<UniqueFd> root = sys::Open("/", O_PATH | O_DIRECTORY);
  if (!root.ok()) return root.status();
  absl::StatusOr<UniqueFd> cwd = OpenInRoot(root->get(), p.cwd, O_PATH | O_DIRECTORY);
  if (!cwd.ok()) return Annotate(cwd.status(), absl::StrCat("process.cwd ", p.cwd));
  if (::fchdir(cwd->get()) != 0) return ErrnoStatus(absl::StrCat("chdir(", p.cwd, ")"), errno);
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return ErrnoStatus("prctl(PR_SET_NO_NEW_PRIVS)", errno);
  }
  if (sec.seccomp != nullptr && p.no_new_privileges) {
    if (absl::Status st = sec.seccomp->Load(); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<CapabilityMasks>> ResolveProcessCapabilities(const Process& p) {
  if (!p.capabilities) return std::optional<CapabilityMasks>();
  absl::StatusOr<CapabilityMasks> m = ResolveCapabilities(*p.capabilities);
  if (!m.ok()) return m.status();
  return std::optional<CapabilityMasks>(*m);
}

absl::Status CheckLsmLabels(const Process& p) {
  if (!p.apparmor_profile.empty()) {
    return absl::UnimplementedError(
        absl::StrCat("process.apparmorProfile \"", p.apparmor_profile, "\": ",
                     sys::Exists("/sys/kernel/security/apparmor")
                         ? "berth-runtime does not apply AppArmor profiles"
                         : "AppArmor is not enabled on this host"));
  }
  if (!p.selinux_label.empty()) {
    return absl::UnimplementedError(absl::StrCat("process.selinuxLabel \"", p.selinux_label, "\": ",
                                                 sys::Exists("/sys/fs/selinux/enforce")
                                                     ? "berth-runtime does not apply SELinux labels"
                                                     : "SELinux is not enabled on this host"));
  }
  return absl::OkStatus();
}

std::vector<std::string> ExecCandidates(const std::string& program, const std::string& path_env) {
  if (program.find('/') != std::string::npos) return {program};
  std::vector<std::string> out;
  for (absl::string_view dir : absl::StrSplit(path_env.empty() ? kDefaultPath : path_env, ':')) {
    // An empty PATH entry means the current directory, as in a shell.
    out.push_back(absl::StrCat(dir.empty() ? "." : dir, "/", program));
  }
  return out;
}

ExecFailure ExecProcess(const Process& p) {
  std::vector<char*> argv;
  for (const std::string& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : p.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int last_err = ENOENT;
  for (const std::string& candidate : ExecCandidates(p.args[0], EnvValue(p.env, "PATH"))) {
    ::execve(candidate.c_str(), argv.data(), envp.data());
    // Keep looking past entries that do not have it; remember a permission problem, which
    // says more than "not found" if nothing else works.
    if (errno != ENOENT && errno != ENOTDIR) last_err = errno;
  }
  ExecFailure f;
  if (last_err == ENOENT) {
    f.status = absl::NotFoundError(
        p.args[0].find('/') != std::string::npos
            ? absl::StrCat("exec: \"", p.args[0], "\": no such file or directory")
            : absl::StrCat("exec: \"", p.args[0], "\": executable file not found in $PATH"));
    f.exit_code = 127;
  } else {
    f.status = ErrnoStatus(absl::StrCat("exec: \"", p.args[0], "\""), last_err);
    f.exit_code = 126;
  }
  return f;
}

void CloseFdsFrom(int first) { ::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC); }

}  // namespace berth::runtime
