#include "runtime/linux/init.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/path.h"
#include "common/safe_path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "runtime/hooks.h"
#include "runtime/linux/channel.h"
#include "runtime/linux/console.h"
#include "runtime/linux/process.h"
#include "runtime/linux/rootfs.h"

namespace berth::runtime {
namespace {

// The state JSON from the parent, for createContainer and startContainer hooks.
std::string g_hook_state;

// With the mounts in place: the parent runs prestart and createRuntime hooks (in the runtime's
// namespaces) and sends the state; then createContainer hooks run here, in the container's.
absl::Status BeforePivot(const InitConfig& c) {
  if (!c.hooks) return absl::OkStatus();
  RETURN_IF_ERROR(SendMessage(c.sync_fd, "hooks"));
  ASSIGN_OR_RETURN(std::string reply, ReceiveMessage(c.sync_fd));
  ASSIGN_OR_RETURN(std::string text, ParseReply(reply));
  absl::string_view state(text);
  if (!absl::ConsumePrefix(&state, "state ")) return absl::InternalError("expected the state");
  g_hook_state = std::string(state);
  return RunHooks(c.spec->hooks.create_container, "createContainer", g_hook_state);
}

// The state as startContainer hooks see it: created, about to run.
std::string CreatedState() {
  nlohmann::json j = nlohmann::json::parse(g_hook_state, nullptr, false);
  if (j.is_discarded()) return g_hook_state;
  j["status"] = "created";
  return j.dump(2);
}

absl::Status Setup(const InitConfig& c) {
  const Spec& spec = *c.spec;
  if (c.new_user_ns) {
    // The parent writes our uid/gid maps; until then we are nobody in the new namespace.
    ASSIGN_OR_RETURN(std::string word, ReceiveMessage(c.sync_fd));
    if (word != "mapped") return absl::InternalError("expected the id maps from the parent");
    if (::setresgid(0, 0, 0) != 0) return ErrnoStatus("setresgid(0) in the user namespace", errno);
    if (::setresuid(0, 0, 0) != 0) return ErrnoStatus("setresuid(0) in the user namespace", errno);
  }
  for (const auto& [fd, type] : c.join) {
    if (::setns(fd, type) != 0) return ErrnoStatus(absl::StrCat("setns(", type, ")"), errno);
  }
  const Namespace* cgroup_ns = spec.FindNamespace("cgroup");
  // Unshared only now, after clone3 placed us in our cgroup, so that the namespace's root is
  // the container's cgroup.
  if (cgroup_ns != nullptr && cgroup_ns->path.empty() && ::unshare(CLONE_NEWCGROUP) != 0) {
    return ErrnoStatus("unshare(CLONE_NEWCGROUP)", errno);
  }
  if (!c.no_new_keyring) {
    // A fresh session keyring, so that the container cannot read the host's keys.
    ::syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, nullptr);
  }

  RootfsOptions ro{.rootfs = c.rootfs,
                   .no_pivot = c.no_pivot,
                   .in_user_ns = c.new_user_ns || spec.HasNamespace("user"),
                   .cgroup_dir = c.cgroup_dir,
                   .before_pivot = [&c] { return BeforePivot(c); }};
  // The working directory must exist before the root changes; create it as root, inside.
  if (spec.process) {
    ASSIGN_OR_RETURN(UniqueFd rootfd, sys::Open(c.rootfs, O_PATH | O_DIRECTORY));
    absl::StatusOr<UniqueFd> cwd = MkdirAllInRoot(rootfd.get(), spec.process->cwd, 0755);
    if (!cwd.ok()) return Annotate(cwd.status(), "creating process.cwd");
  }
  RETURN_IF_ERROR(PrepareRootfs(spec, ro));
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0) {
    return ErrnoStatus(absl::StrCat("sethostname(", spec.hostname, ")"), errno);
  }
  if (!spec.domainname.empty() &&
      ::setdomainname(spec.domainname.data(), spec.domainname.size()) != 0) {
    return ErrnoStatus(absl::StrCat("setdomainname(", spec.domainname, ")"), errno);
  }
  RETURN_IF_ERROR(ApplySysctl(spec));
  RETURN_IF_ERROR(FinalizeRootfs(spec));

  if (::setsid() < 0) return ErrnoStatus("setsid", errno);
  if (c.console_fd >= 0) {
    RETURN_IF_ERROR(SetupConsole(c.console_fd, spec.process->console_size,
                                 /*bind_dev_console=*/true));
    ::close(c.console_fd);
  }
  return absl::OkStatus();
}

[[noreturn]] void Fail(int fd, const absl::Status& st, int code) {
  SendStatus(fd, st).IgnoreError();
  _exit(code);
}

}  // namespace

void RunInit(const InitConfig& c) {
  // Until it execs, this process is a copy of berth-runtime: not dumpable, so that nothing in
  // the container can open /proc/<pid>/exe and reach the runtime binary (CVE-2019-5736).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // If berth-runtime dies while we are being set up, so do we; cleared once we are ready.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (absl::Status st = Setup(c); !st.ok()) Fail(c.sync_fd, st, 1);
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (absl::Status st = SendMessage(c.sync_fd, "ready"); !st.ok()) _exit(1);
  ::close(c.sync_fd);

  // Created: wait for `start`. accept() returns when it connects.
  int conn = sys::RetryEintr([&] { return ::accept4(c.start_fd, nullptr, nullptr, SOCK_CLOEXEC); });
  if (conn < 0) _exit(1);
  ::close(c.start_fd);
  absl::StatusOr<std::string> go = ReceiveMessage(conn);
  if (!go.ok() || *go != "start") _exit(1);

  const Process& p = *c.spec->process;
  if (absl::Status st = RunHooks(c.spec->hooks.start_container, "startContainer", CreatedState());
      !st.ok()) {
    std::fprintf(stderr, "berth-runtime: %s\n", std::string(st.message()).c_str());
    Fail(conn, st, 1);
  }
  if (absl::Status st = SetupProcess(p, c.security); !st.ok()) {
    std::fprintf(stderr, "berth-runtime: %s\n", std::string(st.message()).c_str());
    Fail(conn, st, 1);
  }
  CloseFdsFrom(3 + c.preserve_fds);
  // `conn` is close-on-exec: a successful exec closes it, which `start` reads as success.
  ExecFailure f = ExecProcess(p);
  std::fprintf(stderr, "berth-runtime: %s\n", std::string(f.status.message()).c_str());
  Fail(conn, f.status, f.exit_code);
}

}  // namespace berth::runtime
