#include "runtime/linux/clone.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime {
namespace {

// struct clone_args from <linux/sched.h>, which clashes with glibc's <sched.h>.
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};

constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;

constexpr NamespaceKind kKinds[] = {
    {"user", "user", CLONE_NEWUSER}, {"ipc", "ipc", CLONE_NEWIPC},
    {"uts", "uts", CLONE_NEWUTS},    {"network", "net", CLONE_NEWNET},
    {"pid", "pid", CLONE_NEWPID},    {"cgroup", "cgroup", CLONE_NEWCGROUP},
    {"time", "time", CLONE_NEWTIME}, {"mount", "mnt", CLONE_NEWNS},
};

}  // namespace

pid_t Clone3(uint64_t flags, int cgroup_fd, bool* into_cgroup) {
  CloneArgs args{};
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= kCloneIntoCgroup;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  long pid = ::syscall(SYS_clone3, &args, sizeof(args));
  if (pid < 0 && cgroup_fd >= 0 && (errno == EINVAL || errno == E2BIG || errno == ENOSYS)) {
    args.flags &= ~kCloneIntoCgroup;
    args.cgroup = 0;
    pid = ::syscall(SYS_clone3, &args, sizeof(args));
    if (pid < 0 && errno == ENOSYS) {
      pid = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    }
    if (into_cgroup != nullptr) *into_cgroup = false;
  } else if (into_cgroup != nullptr) {
    *into_cgroup = cgroup_fd >= 0;
  }
  return static_cast<pid_t>(pid);
}

const NamespaceKind* NamespaceKinds(size_t* count) {
  *count = sizeof(kKinds) / sizeof(kKinds[0]);
  return kKinds;
}

const NamespaceKind* FindNamespaceKind(const std::string& spec_name) {
  for (const NamespaceKind& k : kKinds) {
    if (spec_name == k.spec_name) return &k;
  }
  return nullptr;
}

void ResetSignals() {
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &dfl, nullptr);
  }
}

}  // namespace berth::runtime
