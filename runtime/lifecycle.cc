// start, kill, delete, pause, resume, update, ps, run: everything after create but exec.
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/linux/channel.h"
#include "runtime/wait.h"
#include "spdlog/spdlog.h"

namespace berth::runtime {
namespace {

absl::StatusOr<Cgroup> CgroupOf(const ContainerState& s) {
  if (s.cgroup_dir.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("container \"", s.id, "\" has no cgroup (no cgroup2 hierarchy was found)"));
  }
  ASSIGN_OR_RETURN(std::string mount, FindCgroup2Mount());
  if (!path::IsWithin(mount, s.cgroup_dir)) {
    return absl::DataLossError(absl::StrCat("cgroup ", s.cgroup_dir, " is not under ", mount));
  }
  return Cgroup::Open(mount, s.cgroup_dir.substr(mount.size()));
}

// The container's hooks of one phase. The spec is parsed only when it has such hooks at all:
// start and delete are on the hot path, and most containers have none.
std::vector<Hook> HooksOf(const StateStore& store, const std::string& id, const char* phase) {
  absl::StatusOr<std::string> config = store.LoadConfig(id);
  if (!config.ok() || config->find(absl::StrCat("\"", phase, "\"")) == std::string::npos) return {};
  absl::StatusOr<Spec> spec = ParseSpec(*config);
  if (!spec.ok()) return {};
  return std::string(phase) == "poststart" ? spec->hooks.poststart : spec->hooks.poststop;
}

absl::Status NotRunning(const ContainerState& s, Status st) {
  return absl::FailedPreconditionError(
      absl::StrCat("container \"", s.id, "\" is ", StatusName(st)));
}

// Waits for a process that is not our child to be gone (or a zombie nobody reaps yet).
bool WaitGone(const ContainerState& s, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ProcessStartTime(s.pid) == s.pid_start_time && s.pid_start_time != 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

absl::Status Start(StateStore& store, const std::string& id) {
  ASSIGN_OR_RETURN(ContainerState s, store.Load(id));
  Status st = store.StatusOf(s);
  if (st != Status::kCreated) {
    return absl::FailedPreconditionError(absl::StrCat("cannot start container \"", id, "\": it is ",
                                                      StatusName(st), ", not created"));
  }
  ASSIGN_OR_RETURN(UniqueFd conn, ConnectUnix(store.StartSocket(id), SOCK_SEQPACKET));
  // Gone from here on: a second start must not find it, whatever happens next.
  RETURN_IF_ERROR(sys::RemoveIfExists(store.StartSocket(id)));
  RETURN_IF_ERROR(SendMessage(conn.get(), "start"));
  // The connection is close-on-exec in the init: a close means the program is running.
  absl::StatusOr<std::string> reply = ReceiveMessage(conn.get());
  if (reply.ok()) return Annotate(ParseReply(*reply).status(), "starting the container process");
  // Running. poststart hooks may fail without stopping anything, as the spec says.
  if (std::vector<Hook> hooks = HooksOf(store, id, "poststart"); !hooks.empty()) {
    absl::Status st = RunHooks(hooks, "poststart", StateJsonAs(s, Status::kRunning));
    if (!st.ok()) spdlog::warn("{}", std::string(st.message()));
  }
  return absl::OkStatus();
}

absl::Status Kill(StateStore& store, const std::string& id, int signal, bool all) {
  ASSIGN_OR_RETURN(ContainerState s, store.Load(id));
  Status st = store.StatusOf(s);
  if (st == Status::kStopped) return NotRunning(s, st);
  if (all && !s.cgroup_dir.empty()) {
    ASSIGN_OR_RETURN(Cgroup cg, CgroupOf(s));
    if (signal == SIGKILL) return cg.KillAll();
    ASSIGN_OR_RETURN(std::vector<pid_t> pids, cg.Procs());
    for (pid_t p : pids) ::kill(p, signal);
    return absl::OkStatus();
  }
  if (::kill(s.pid, signal) != 0) {
    return ErrnoStatus(absl::StrCat("kill(", s.pid, ", ", signal, ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status Delete(StateStore& store, const std::string& id, bool force) {
  ASSIGN_OR_RETURN(ContainerState s, store.Load(id));
  Status st = store.StatusOf(s);
  if ((st == Status::kRunning || st == Status::kPaused) && !force) {
    return absl::FailedPreconditionError(absl::StrCat("cannot delete container \"", id,
                                                      "\": it is ", StatusName(st),
                                                      "; stop it first or use --force"));
  }
  // A created container is deleted like runc does: its waiting init is killed.
  if (st != Status::kStopped) {
    absl::StatusOr<Cgroup> cg = CgroupOf(s);
    if (cg.ok()) {
      RETURN_IF_ERROR(cg->KillAll());
    } else {
      ::kill(s.pid, SIGKILL);
    }
    if (!WaitGone(s, std::chrono::seconds(10))) {
      return absl::DeadlineExceededError(
          absl::StrCat("container \"", id, "\": init ", s.pid, " survives SIGKILL"));
    }
  }
  if (!s.cgroup_dir.empty()) {
    absl::StatusOr<Cgroup> cg = CgroupOf(s);
    if (cg.ok() && cg->Exists()) {
      // Processes left by a container whose init died first: they must go with it.
      RETURN_IF_ERROR(cg->KillAll());
      RETURN_IF_ERROR(cg->Remove());
    }
  }
  if (std::vector<Hook> hooks = HooksOf(store, id, "poststop"); !hooks.empty()) {
    absl::Status st = RunHooks(hooks, "poststop", StateJsonAs(s, Status::kStopped));
    if (!st.ok()) spdlog::warn("{}", std::string(st.message()));
  }
  return store.Remove(id);
}

absl::Status Pause(StateStore& store, const std::string& id) {
  ASSIGN_OR_RETURN(ContainerState s, store.Load(id));
  Status st = store.StatusOf(s);
  if (st != Status::kRunning && st != Status::kCreated) return NotRunning(s, st);
  ASSIGN_OR_RETURN(Cgroup cg, CgroupOf(s));
  return cg.Freeze(true);
}

absl::Status Resume(StateStore& store, const std::string& id) {
  ASSIGN_OR_RETURN(ContainerState s, store.Load(id));
  Status st = store.StatusOf(s);
  if (st != Status::kPaused) {
    return absl::FailedPreconditionError(
        absl::StrCat("container \"", id, "\" is ", StatusName(st), ", not paused"));
  }
  ASSIGN_OR_RETURN(Cgroup cg, CgroupOf(s));
  return cg.Freeze(false);
}

absl::Status Update(StateStore& store, const std::string& id, const std::string& resources_json) {
  ASSIGN_OR_RETURN(ContainerState s, store.Load(id));
  Status st = store.StatusOf(s);
  if (st == Status::kStopped) return NotRunning(s, st);
  ASSIGN_OR_RETURN(Resources r, ParseResources(resources_json));
  ASSIGN_OR_RETURN(std::vector<CgroupWrite> writes, ConvertResources(r));
  ASSIGN_OR_RETURN(Cgroup cg, CgroupOf(s));
  return cg.Create(writes);
}

absl::StatusOr<std::vector<pid_t>> Pids(StateStore& store, const std::string& id) {
  ASSIGN_OR_RETURN(ContainerState s, store.Load(id));
  ASSIGN_OR_RETURN(Cgroup cg, CgroupOf(s));
  return cg.Procs();
}

absl::StatusOr<int> Run(StateStore& store, const CreateOptions& o, bool detach, bool keep) {
  // Signals meant for the container are forwarded to it; block them before the container
  // exists so none is lost in between.
  ScopedSignalForwarding forwarding;
  ASSIGN_OR_RETURN(pid_t pid, Create(store, o));
  if (absl::Status st = Start(store, o.id); !st.ok()) {
    Delete(store, o.id, /*force=*/true).IgnoreError();
    return st;
  }
  if (detach) return 0;
  int code = forwarding.WaitFor(pid);
  if (!keep) RETURN_IF_ERROR(Delete(store, o.id, /*force=*/true));
  return code;
}

}  // namespace berth::runtime
