// The shim's requests: what each does to the task's processes.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "common/path.h"
#include "common/syscall.h"
#include "common/version.h"
#include "shim/console.h"
#include "shim/errors.h"
#include "shim/shim.h"

namespace berth::shim {
namespace {

// How long to wait for a pty after the runtime returned: it sent the master before exiting.
constexpr int kConsoleTimeoutMs = 5000;

absl::Status NoSuchProcess(const std::string& id, const std::string& exec_id) {
  return absl::NotFoundError(exec_id.empty()
                                 ? absl::StrCat("no task ", id, " has been created")
                                 : absl::StrCat("task ", id, " has no process ", exec_id));
}

// The daemon writes config.json with process.terminal as the request says; a mismatch would
// make the runtime fail with a message about --console-socket that names neither.
absl::Status CheckTerminal(const std::string& bundle, bool terminal) {
  absl::StatusOr<std::string> text = sys::ReadFile(path::Join(bundle, "config.json"));
  if (!text.ok()) return absl::OkStatus();  // the runtime reports a missing or bad bundle
  nlohmann::json spec = nlohmann::json::parse(*text, nullptr, false);
  if (spec.is_discarded() || !spec.is_object()) return absl::OkStatus();
  bool in_spec = false;
  if (auto process = spec.find("process"); process != spec.end() && process->is_object()) {
    if (auto t = process->find("terminal"); t != process->end() && t->is_boolean()) in_spec = *t;
  }
  if (in_spec == terminal) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "Create asks for ", terminal ? "a terminal" : "no terminal", ", but process.terminal is ",
      in_spec ? "true" : "false", " in ", path::Join(bundle, "config.json"), "; they must agree"));
}

}  // namespace

absl::Status Shim::ReceivePty(ConsoleSocket& console, Process& p) {
  absl::StatusOr<UniqueFd> master = console.ReceiveMaster(kConsoleTimeoutMs);
  if (!master.ok()) {
    return absl::Status(
        master.status().code(),
        absl::StrCat("receiving the pty of ", Name(p.exec_id), ": ", master.status().message()));
  }
  return AdoptPty(p, *std::move(master));
}

absl::Status Shim::StartExec(Process& p) {
  nlohmann::json spec = nlohmann::json::parse(p.spec, nullptr, false);
  if (p.terminal && p.size) {
    // The size the pty starts with, so the process never sees a 0x0 terminal.
    spec["consoleSize"] = {{"height", p.size->ws_row}, {"width", p.size->ws_col}};
  }
  const std::string file = path::Join(opts_.state_dir, "process-" + p.exec_id + ".json");
  if (absl::Status st = sys::WriteFileAtomic(file, spec.dump(), 0600, sys::Durability::kVolatile);
      !st.ok()) {
    return st;
  }
  absl::StatusOr<std::vector<UniqueFd>> child = Plumb(p);
  if (!child.ok()) return child.status();
  if (p.stdin_closed) p.stdin_write.Reset();  // CloseIO came before Start
  absl::optional<ConsoleSocket> console;
  if (p.terminal) {
    absl::StatusOr<ConsoleSocket> c = ConsoleSocket::Listen(opts_.state_dir);
    if (!c.ok()) return c.status();
    console.emplace(*std::move(c));
  }
  absl::StatusOr<pid_t> pid = driver_.Exec(
      opts_.id, file, path::Join(opts_.state_dir, "exec-" + p.exec_id + ".pid"),
      console ? console->path() : "", (*child)[0].get(), (*child)[1].get(), (*child)[2].get());
  if (!pid.ok()) return pid.status();
  p.pid = *pid;
  if (console) {
    if (absl::Status st = ReceivePty(*console, p); !st.ok()) {
      ::kill(p.pid, SIGKILL);  // reaped by the loop as an orphan of ours
      return st;
    }
  } else {
    PumpStdin(p);  // whatever stdin attachments sent before Start
  }
  return absl::OkStatus();
}

v1::Response Shim::Handle(int client, const v1::Request& req, bool* defer,
                          std::vector<UniqueFd>* fds) {
  switch (req.kind_case()) {
    case v1::Request::kConnect: {
      if (req.connect().protocol_version() != v1::PROTOCOL_VERSION_1) {
        return Error(absl::StatusCode::kFailedPrecondition,
                     absl::StrCat("shim protocol version ", req.connect().protocol_version(),
                                  " is not supported; this shim speaks version 1"));
      }
      v1::Response r;
      r.mutable_connect()->set_protocol_version(v1::PROTOCOL_VERSION_1);
      r.mutable_connect()->set_shim_version(kVersion);
      r.mutable_connect()->set_shim_pid(static_cast<uint32_t>(::getpid()));
      if (const Process* init = Find("")) r.mutable_connect()->set_task_pid(init->pid);
      return r;
    }
    case v1::Request::kCreate:
      return Create(req.create());
    case v1::Request::kExec:
      return Exec(req.exec());
    case v1::Request::kStart:
      return Start(req.start().exec_id());
    case v1::Request::kState:
      return StateOf(req.state().exec_id());
    case v1::Request::kWait:
      return Wait(client, req.id(), req.wait().exec_id(), defer);
    case v1::Request::kKill:
      return Kill(req.kill());
    case v1::Request::kDelete:
      return Delete(req.delete_().exec_id());
    case v1::Request::kCloseIo:
      return CloseIO(req.close_io());
    case v1::Request::kAttach:
      return Attach(req.attach(), fds);
    case v1::Request::kResizePty:
      return ResizePty(req.resize_pty());
    case v1::Request::kPause: {
      absl::Status st = driver_.Pause(opts_.id);
      if (!st.ok()) return Error(st);
      paused_ = true;
      return {};
    }
    case v1::Request::kResume: {
      absl::Status st = driver_.Resume(opts_.id);
      if (!st.ok()) return Error(st);
      paused_ = false;
      return {};
    }
    case v1::Request::kPids:
      return Pids();
    case v1::Request::kStats:
      return Stats();
    case v1::Request::kUpdate:
      return Update(req.update());
    case v1::Request::kShutdown:
      if (AnyRunning() && !req.shutdown().now()) {
        return Error(absl::StatusCode::kFailedPrecondition,
                     "processes are still running; kill them first or shut down with now");
      }
      stop_ = true;
      return {};
    case v1::Request::KIND_NOT_SET:
      break;
  }
  return Error(absl::StatusCode::kInvalidArgument,
               "the request names no operation (unknown to this shim, or empty)");
}

v1::Response Shim::Create(const v1::CreateRequest& req) {
  if (Find("") != nullptr) {
    return Error(absl::StatusCode::kAlreadyExists, absl::StrCat("task ", opts_.id, " exists"));
  }
  if (req.id() != opts_.id) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("this shim serves task ", opts_.id, ", not ", req.id()));
  }
  if (absl::Status st = CheckTerminal(req.bundle(), req.terminal()); !st.ok()) return Error(st);
  // Every port is bound before anything else happens: one that is taken fails the Create.
  v1::Response r;
  if (absl::Status st = ports_.Open(req.ports(), r.mutable_create()->mutable_ports()); !st.ok()) {
    return Error(st);
  }
  absl::Cleanup close_ports = [this] { ports_.Close(); };
  Process& p = processes_[""];
  p.serial = ++process_serial_;
  absl::Cleanup forget = [this] { Forget(""); };
  p.stdio = req.stdio();
  p.terminal = req.terminal();
  absl::StatusOr<std::vector<UniqueFd>> child = Plumb(p);
  if (!child.ok()) return Error(child.status());
  absl::optional<ConsoleSocket> console;
  if (p.terminal) {
    absl::StatusOr<ConsoleSocket> c = ConsoleSocket::Listen(opts_.state_dir);
    if (!c.ok()) return Error(c.status());
    console.emplace(*std::move(c));
  }
  absl::StatusOr<pid_t> pid = driver_.Create(
      opts_.id, req.bundle(), path::Join(opts_.state_dir, "init.pid"),
      console ? console->path() : "", (*child)[0].get(), (*child)[1].get(), (*child)[2].get());
  if (!pid.ok()) return Error(pid.status());
  p.pid = *pid;
  if (console) {
    absl::Status st = ReceivePty(*console, p);
    if (!st.ok()) {
      driver_.Delete(opts_.id, /*force=*/true).IgnoreError();
      return Error(st);
    }
  }
  std::move(forget).Cancel();
  std::move(close_ports).Cancel();
  if (ports_.fd() >= 0) Watch(ports_.fd());
  bundle_ = req.bundle();
  // OOM kills are reported when the container's cgroup has a memory controller to count them.
  if (oom_.WatchProcess(*pid).ok()) Watch(oom_.fd());
  r.mutable_create()->set_pid(static_cast<uint32_t>(*pid));
  return r;
}

v1::Response Shim::Exec(const v1::ExecRequest& req) {
  Process* init = Find("");
  if (init == nullptr || init->state == State::kStopped) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 absl::StrCat("task ", opts_.id, " is not running; nothing to exec into"));
  }
  if (req.exec_id().empty() || req.exec_id().find('/') != std::string::npos ||
      req.exec_id().size() > 128) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("invalid exec id \"", req.exec_id(), "\""));
  }
  if (Find(req.exec_id()) != nullptr) {
    return Error(absl::StatusCode::kAlreadyExists,
                 absl::StrCat("task ", opts_.id, " already has a process ", req.exec_id()));
  }
  // The process's own "terminal" must say what the request does: the runtime allocates a pty
  // by it and insists on --console-socket exactly when it is set.
  nlohmann::json spec = nlohmann::json::parse(req.process(), nullptr, false);
  if (spec.is_discarded() || !spec.is_object()) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("the process of exec ", req.exec_id(),
                              " is not a JSON object (an OCI runtime-spec process)"));
  }
  spec["terminal"] = req.terminal();
  Process p;
  p.exec_id = req.exec_id();
  p.serial = ++process_serial_;
  p.spec = spec.dump();
  p.stdio = req.stdio();
  p.terminal = req.terminal();
  processes_[p.exec_id] = std::move(p);
  return {};
}

v1::Response Shim::Start(const std::string& exec_id) {
  Process* p = Find(exec_id);
  if (p == nullptr) return Error(NoSuchProcess(opts_.id, exec_id));
  if (p->state != State::kCreated) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 absl::StrCat(exec_id.empty() ? "task " + opts_.id : "process " + exec_id,
                              " is not created, so it cannot start"));
  }
  if (exec_id.empty()) {
    if (absl::Status st = driver_.Start(opts_.id); !st.ok()) return Error(st);
  } else {
    absl::Status st = StartExec(*p);
    if (!st.ok()) {
      Forget(exec_id);
      return Error(st);
    }
  }
  // The process may already have exited (its SIGCHLD waits in the loop): running until then.
  if (p->state == State::kCreated) p->state = State::kRunning;
  v1::Response r;
  r.mutable_start()->set_pid(static_cast<uint32_t>(p->pid));
  return r;
}

v1::Response Shim::Wait(int client, uint64_t id, const std::string& exec_id, bool* defer) {
  Process* p = Find(exec_id);
  if (p == nullptr) return Error(NoSuchProcess(opts_.id, exec_id));
  if (p->state != State::kStopped) {
    p->waiters_fds.push_back(client);
    p->waiters_ids.push_back(id);
    *defer = true;
    return {};
  }
  v1::Response r;
  r.mutable_wait()->set_exit_status(p->exit_status);
  r.mutable_wait()->set_exited_at_unix_nano(p->exited_at);
  return r;
}

v1::Response Shim::Kill(const v1::KillRequest& req) {
  Process* p = Find(req.exec_id());
  if (p == nullptr) return Error(NoSuchProcess(opts_.id, req.exec_id()));
  if (p->state != State::kRunning && !(p->state == State::kCreated && req.exec_id().empty())) {
    return Error(
        absl::StatusCode::kNotFound,
        absl::StrCat(req.exec_id().empty() ? "task " + opts_.id : "process " + req.exec_id(),
                     " is not running"));
  }
  const int sig = req.signal() ? static_cast<int>(req.signal()) : SIGTERM;
  if (req.exec_id().empty()) {
    absl::Status st = driver_.Kill(opts_.id, sig, req.all());
    return st.ok() ? v1::Response() : Error(st);
  }
  if (::kill(p->pid, sig) != 0)
    return Error(ErrnoStatus(absl::StrCat("kill(", p->pid, ")"), errno));
  return {};
}

v1::Response Shim::Delete(const std::string& exec_id) {
  Process* p = Find(exec_id);
  if (p == nullptr) return Error(NoSuchProcess(opts_.id, exec_id));
  if (p->state == State::kRunning || (p->state == State::kCreated && exec_id.empty())) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 absl::StrCat(exec_id.empty() ? "task " + opts_.id : "process " + exec_id,
                              " is still running; kill it first"));
  }
  if (exec_id.empty()) {
    if (absl::Status st = driver_.Delete(opts_.id, /*force=*/true); !st.ok()) return Error(st);
    if (oom_.fd() >= 0) Unwatch(oom_.fd());
    oom_.Stop();
  }
  v1::Response r;
  r.mutable_delete_()->set_pid(static_cast<uint32_t>(p->pid));
  r.mutable_delete_()->set_exit_status(p->exit_status);
  r.mutable_delete_()->set_exited_at_unix_nano(p->exited_at);
  Forget(exec_id);
  return r;
}

v1::Response Shim::StateOf(const std::string& exec_id) {
  Process* p = Find(exec_id);
  if (p == nullptr) return Error(NoSuchProcess(opts_.id, exec_id));
  v1::Response r;
  v1::StateResponse* s = r.mutable_state();
  s->set_id(opts_.id);
  s->set_exec_id(exec_id);
  s->set_pid(static_cast<uint32_t>(p->pid));
  s->set_bundle(bundle_);
  s->set_terminal(p->terminal);
  *s->mutable_stdio() = p->stdio;
  switch (p->state) {
    case State::kCreated:
      s->set_status(v1::STATUS_CREATED);
      break;
    case State::kRunning:
      // A frozen cgroup freezes every process of the task, exec'd ones too.
      s->set_status(paused_ ? v1::STATUS_PAUSED : v1::STATUS_RUNNING);
      break;
    case State::kStopped:
      s->set_status(v1::STATUS_STOPPED);
      s->set_exit_status(p->exit_status);
      s->set_exited_at_unix_nano(p->exited_at);
      break;
  }
  return r;
}

v1::Response Shim::Pids() {
  absl::StatusOr<std::vector<pid_t>> pids = driver_.Pids(opts_.id);
  if (!pids.ok()) return Error(pids.status());
  v1::Response r;
  for (pid_t pid : *pids) {
    v1::ProcessInfo* info = r.mutable_pids()->add_processes();
    info->set_pid(static_cast<uint32_t>(pid));
    for (const auto& [id, p] : processes_) {
      if (p.pid == pid) info->set_exec_id(id);
    }
  }
  return r;
}

v1::Response Shim::Stats() {
  absl::StatusOr<std::string> text = driver_.Stats(opts_.id);
  if (!text.ok()) return Error(text.status());
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded())
    return Error(absl::StatusCode::kInternal, "unreadable stats from the runtime");
  const nlohmann::json& d = j["data"];
  v1::Response r;
  v1::StatsResponse* s = r.mutable_stats();
  auto num = [](const nlohmann::json& o, std::initializer_list<const char*> path) -> uint64_t {
    const nlohmann::json* at = &o;
    for (const char* k : path) {
      if (!at->is_object() || !at->contains(k)) return 0;
      at = &(*at)[k];
    }
    return at->is_number() ? at->get<uint64_t>() : 0;
  };
  s->set_cpu_usage_usec(num(d, {"cpu", "usage", "total"}) / 1000);
  s->set_cpu_user_usec(num(d, {"cpu", "usage", "user"}) / 1000);
  s->set_cpu_system_usec(num(d, {"cpu", "usage", "kernel"}) / 1000);
  s->set_cpu_nr_periods(num(d, {"cpu", "throttling", "periods"}));
  s->set_cpu_nr_throttled(num(d, {"cpu", "throttling", "throttledPeriods"}));
  s->set_memory_current(num(d, {"memory", "usage", "usage"}));
  s->set_memory_max(num(d, {"memory", "usage", "limit"}));
  s->set_pids_current(num(d, {"pids", "current"}));
  s->set_pids_max(num(d, {"pids", "limit"}));
  return r;
}

v1::Response Shim::Update(const v1::UpdateRequest& req) {
  const std::string file = path::Join(opts_.state_dir, "resources.json");
  if (absl::Status st =
          sys::WriteFileAtomic(file, req.resources(), 0600, sys::Durability::kVolatile);
      !st.ok()) {
    return Error(st);
  }
  absl::Status st = driver_.Update(opts_.id, file);
  return st.ok() ? v1::Response() : Error(st);
}

}  // namespace berth::shim
