// exec: a new process in a running container's namespaces and cgroup.
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "runtime/container.h"
#include "runtime/linux/channel.h"
#include "runtime/linux/clone.h"
#include "runtime/linux/console.h"
#include "runtime/linux/process.h"
#include "runtime/wait.h"

namespace berth::runtime {
namespace {

struct JoinFd {
  UniqueFd fd;
  int flag;
};

[[noreturn]] void FailExec(int err_fd, const absl::Status& st, int code) {
  std::string msg(st.message());
  (void)!::write(err_fd, msg.data(), msg.size());
  _exit(code);
}

[[noreturn]] void ExecChild(const ExecOptions& o, const ProcessSecurity& security,
                            const std::vector<JoinFd>& join, int err_fd, int console_fd) {
  // A copy of berth-runtime until it execs: not dumpable, so processes already in the
  // container cannot open /proc/<pid>/exe and reach the runtime binary (CVE-2019-5736).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ResetSignals();
  auto fail = [err_fd](const absl::Status& st, int code) { FailExec(err_fd, st, code); };
  for (const JoinFd& j : join) {
    if (::setns(j.fd.get(), j.flag) != 0)
      fail(ErrnoStatus(absl::StrCat("setns(", j.flag, ")"), errno), 1);
  }
  if (::setsid() < 0) fail(ErrnoStatus("setsid", errno), 1);
  if (console_fd >= 0) {
    if (absl::Status st = SetupConsole(console_fd, o.process.console_size, false); !st.ok()) {
      fail(st, 1);
    }
    ::close(console_fd);
  }
  if (absl::Status st = SetupProcess(o.process, security); !st.ok()) fail(st, 1);
  CloseFdsFrom(3 + o.preserve_fds);
  ExecFailure f = ExecProcess(o.process);
  FailExec(err_fd, f.status, f.exit_code);
}

}  // namespace

absl::StatusOr<int> Exec(StateStore& store, const ExecOptions& o) {
  ASSIGN_OR_RETURN(ContainerState s, store.Load(o.id));
  Status st = store.StatusOf(s);
  if (st != Status::kRunning && st != Status::kCreated) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot exec in container \"", o.id, "\": it is ", StatusName(st)));
  }
  if (o.process.terminal != !o.console_socket.empty()) {
    return absl::InvalidArgumentError(
        o.process.terminal ? "a terminal needs --console-socket to receive the pty"
                           : "--console-socket given, but the process has no terminal");
  }
  ASSIGN_OR_RETURN(std::string config, store.LoadConfig(o.id));
  ASSIGN_OR_RETURN(Spec spec, ParseSpec(config));
  RETURN_IF_ERROR(CheckLsmLabels(o.process));
  // Exec'd processes get the container's seccomp profile and their own capabilities.
  ProcessSecurity security;
  ASSIGN_OR_RETURN(security.capabilities, ResolveProcessCapabilities(o.process));
  ASSIGN_OR_RETURN(std::unique_ptr<SeccompFilter> seccomp,
                   SeccompFilter::FromSpec(config, store.SeccompCache()));
  security.seccomp = seccomp.get();

  // Open every namespace of the init, then check that the init is still the same process:
  // otherwise the fds could belong to whatever reused its pid.
  std::vector<JoinFd> join;
  UniqueFd pid_ns;
  size_t n = 0;
  const NamespaceKind* kinds = NamespaceKinds(&n);
  for (size_t i = 0; i < n; ++i) {
    if (!spec.HasNamespace(kinds[i].spec_name)) continue;
    ASSIGN_OR_RETURN(
        UniqueFd fd,
        sys::Open(absl::StrCat("/proc/", s.pid, "/ns/", kinds[i].proc_name), O_RDONLY));
    if (kinds[i].flag == CLONE_NEWPID) {
      pid_ns = std::move(fd);
    } else {
      join.push_back({std::move(fd), kinds[i].flag});
    }
  }
  if (ProcessStartTime(s.pid) != s.pid_start_time) {
    return absl::FailedPreconditionError(absl::StrCat("container \"", o.id, "\" stopped"));
  }
  if (pid_ns && ::setns(pid_ns.get(), CLONE_NEWPID) != 0) {
    return ErrnoStatus("setns(pid namespace of the container)", errno);
  }
  UniqueFd cgroup_fd;
  if (!s.cgroup_dir.empty()) {
    ASSIGN_OR_RETURN(cgroup_fd, sys::Open(s.cgroup_dir, O_PATH | O_DIRECTORY));
  }
  UniqueFd console;
  if (!o.console_socket.empty()) {
    ASSIGN_OR_RETURN(console, ConnectUnix(o.console_socket, SOCK_STREAM));
  }
  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  UniqueFd err_read(errpipe[0]), err_write(errpipe[1]);

  std::optional<ScopedSignalForwarding> forwarding;
  if (!o.detach) forwarding.emplace();
  bool into_cgroup = false;
  pid_t pid = Clone3(0, cgroup_fd.get(), &into_cgroup);
  if (pid < 0) return ErrnoStatus("clone3", errno);
  if (pid == 0) {
    err_read.Reset();
    ExecChild(o, security, join, err_write.get(), console.valid() ? console.get() : -1);
  }
  err_write.Reset();
  console.Reset();
  if (!into_cgroup && !s.cgroup_dir.empty()) {
    // Old kernels only: the child is briefly outside the cgroup before this.
    absl::StatusOr<UniqueFd> procs = sys::Open(s.cgroup_dir + "/cgroup.procs", O_WRONLY);
    std::string text = absl::StrCat(pid);
    if (procs.ok()) (void)!::write(procs->get(), text.data(), text.size());
  }
  // The pipe closes on a successful exec; anything read from it is the reason it failed.
  char buf[4096];
  ssize_t got = sys::RetryEintr([&] { return ::read(err_read.get(), buf, sizeof(buf)); });
  if (got > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return absl::FailedPreconditionError(std::string(buf, static_cast<size_t>(got)));
  }
  if (!o.pid_file.empty()) {
    RETURN_IF_ERROR(
        sys::WriteFileAtomic(o.pid_file, absl::StrCat(pid), 0644, sys::Durability::kVolatile));
  }
  if (o.detach) return 0;
  return forwarding->WaitFor(pid);
}

}  // namespace berth::runtime
