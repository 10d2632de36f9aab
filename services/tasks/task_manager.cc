// TaskManager's lifecycle of a task: Create, Start, State, Wait, Delete and calls to its shim;
// the manager's construction, its table of tasks, and ResolveUser.
#include "services/tasks/task_manager.h"

#include <signal.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "berth/events/v1/events.pb.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "common/grpc_status.h"
#include "common/namespace.h"
#include "common/path.h"
#include "common/port_spec.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/user.h"
#include "services/common/proto_time.h"
#include "services/tasks/task_manager_internal.h"
#include "services/tasks/volume_copyup.h"
#include "snapshotter/mount/mount.h"
#include "spdlog/spdlog.h"

namespace berth::tasks {
namespace {

using internal::CallContext;
using internal::ExitFile;
using internal::FromNanos;
using internal::kTaskFile;
using internal::ShimAlive;

constexpr auto kCallDeadline = std::chrono::seconds(30);

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

tpb::Status FromShim(v1::Status s) { return static_cast<tpb::Status>(s); }

// What a call on a task that a Delete took away meanwhile answers.
absl::Status Deleted(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("the task of container ", id, " was deleted"));
}

}  // namespace

namespace internal {

std::unique_ptr<grpc::ClientContext> CallContext(const std::string& ns) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata(kNamespaceMetadataKey, ns);
  ctx->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  return ctx;
}

absl::Time FromNanos(int64_t nanos) { return absl::FromUnixNanos(nanos); }

}  // namespace internal

absl::Status ResolveUser(const std::string& rootfs, nlohmann::json& process) {
  if (!process.is_object() || !process.contains("user") || !process["user"].is_object()) {
    return absl::OkStatus();
  }
  nlohmann::json& user = process["user"];
  if (!user.contains("username") || !user["username"].is_string()) return absl::OkStatus();
  const std::string spec = user["username"].get<std::string>();
  ASSIGN_OR_RETURN(UserFiles files, ReadUserFiles(rootfs));
  absl::StatusOr<ExecUser> u = ::berth::ResolveUser(spec, files);
  if (!u.ok()) return absl::InvalidArgumentError(u.status().message());
  user = {{"uid", u->uid}, {"gid", u->gid}};
  if (!u->additional_gids.empty()) user["additionalGids"] = u->additional_gids;
  std::vector<std::string> env = process.value("env", std::vector<std::string>{});
  const bool has_home = std::any_of(env.begin(), env.end(),
                                    [](const std::string& e) { return e.rfind("HOME=", 0) == 0; });
  if (!has_home) {
    env.push_back("HOME=" + u->home);
    process["env"] = env;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> TaskManager::ResolveExecUser(const std::string& ns,
                                                         const std::string& id,
                                                         const std::string& process_json) {
  nlohmann::json p = nlohmann::json::parse(process_json, nullptr, false);
  if (!p.is_object()) {
    return absl::InvalidArgumentError("spec must be an OCI process object in JSON");
  }
  if (!p.contains("user") || !p["user"].is_object() || !p["user"].contains("username")) {
    return process_json;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<Task> t, Find(ns, id));
  RETURN_IF_ERROR(ResolveUser(path::Join(t->dir, "rootfs"), p));
  return p.dump();
}

TaskManager::TaskManager(TasksConfig config, ChannelSource channels)
    : config_(std::move(config)),
      channels_(std::move(channels)),
      publisher_([this] { return channels_("events"); }) {
  worker_ = std::thread([this] { WorkLoop(); });
  janitor_ = std::thread([this] { ForgetDeletedContainers(); });
}

void TaskManager::Stop() {
  {
    absl::MutexLock l(&work_mu_);
    stopping_ = true;
  }
  if (worker_.joinable()) worker_.join();
  {
    absl::MutexLock l(&sub_mu_);
    sub_stopping_ = true;
    if (subscription_ != nullptr) subscription_->TryCancel();
  }
  if (janitor_.joinable()) janitor_.join();
}

TaskManager::~TaskManager() {
  Stop();
  // Shims keep running: closing our connections is all a daemon stop does to them.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Task>> tasks;
  {
    absl::MutexLock l(&mu_);
    tasks.swap(tasks_);
  }
  for (auto& [key, t] : tasks) {
    t->shim_released = true;
    if (t->shim) t->shim->Close();
  }
}
std::string TaskManager::TaskDir(const std::string& ns, const std::string& id) const {
  return path::Join(path::Join(config_.state, "tasks"), path::Join(ns, id));
}

absl::Mutex* TaskManager::ContainerLock(const std::string& ns, const std::string& id) {
  absl::MutexLock l(&mu_);
  std::unique_ptr<absl::Mutex>& m = container_locks_[{ns, id}];
  if (m == nullptr) m = std::make_unique<absl::Mutex>();
  return m.get();
}
std::string TaskManager::LogPath(const std::string& ns, const std::string& id) const {
  return absl::StrCat(config_.root, "/logs/", ns, "/", id, "/log.json");
}
absl::StatusOr<std::shared_ptr<Task>> TaskManager::Find(const std::string& ns,
                                                        const std::string& id) {
  absl::MutexLock l(&mu_);
  auto it = tasks_.find({ns, id});
  if (it == tasks_.end() || it->second == nullptr) {
    return absl::NotFoundError(absl::StrCat("container ", id,
                                            " has no task (it is not running; "
                                            "create and start one first)"));
  }
  return it->second;
}

std::vector<std::shared_ptr<Task>> TaskManager::List(const std::string& ns) {
  std::vector<std::shared_ptr<Task>> out;
  absl::MutexLock l(&mu_);
  for (const auto& [key, t] : tasks_) {
    if (key.first == ns && t != nullptr) out.push_back(t);
  }
  return out;
}

absl::StatusOr<cpb::Container> TaskManager::GetContainer(const std::string& ns,
                                                         const std::string& id) {
  std::shared_ptr<grpc::Channel> ch = channels_("containers");
  if (ch == nullptr) return absl::UnavailableError("the containers service is not configured");
  cpb::GetContainerRequest req;
  req.set_id(id);
  cpb::GetContainerResponse resp;
  grpc::Status st = cpb::Containers::NewStub(ch)->Get(CallContext(ns).get(), req, &resp);
  if (!st.ok()) return FromGrpcStatus(st);
  return resp.container();
}

void TaskManager::SetLabels(const std::string& ns, const std::string& id,
                            const std::map<std::string, std::string>& labels) {
  std::shared_ptr<grpc::Channel> ch = channels_("containers");
  if (ch == nullptr) return;
  cpb::UpdateContainerRequest req;
  req.mutable_container()->set_id(id);
  for (const auto& [k, v] : labels) {
    if (!v.empty()) (*req.mutable_container()->mutable_labels())[k] = v;  // "": removed
    req.mutable_update_mask()->add_paths("labels." + k);
  }
  cpb::UpdateContainerResponse resp;
  grpc::Status st = cpb::Containers::NewStub(ch)->Update(CallContext(ns).get(), req, &resp);
  if (!st.ok() && st.error_code() != grpc::StatusCode::NOT_FOUND) {
    spdlog::warn("recording state on container {}/{}: {}", ns, id, st.error_message());
  }
}
absl::StatusOr<uint32_t> TaskManager::Create(const std::string& ns,
                                             const tpb::CreateTaskRequest& req) {
  const std::string& id = req.container_id();
  // One Create or Delete per container at a time: they share its task directory.
  absl::MutexLock container_lock(ContainerLock(ns, id));
  if (config_.shim.empty()) return absl::FailedPreconditionError(config_.shim_error);
  ASSIGN_OR_RETURN(cpb::Container container, GetContainer(ns, id));
  if (container.spec().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", id, " has no OCI spec, so there is nothing to run"));
  }
  nlohmann::json spec = nlohmann::json::parse(container.spec(), nullptr, false);
  if (!spec.is_object() || !spec.contains("process") || !spec["process"].is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("container ", id, " has a spec that is not an OCI runtime spec object"));
  }
  ASSIGN_OR_RETURN(
      std::string runtime,
      ResolveRuntime(!req.runtime().empty() ? req.runtime() : container.runtime().name()));

  auto task = std::make_shared<Task>();
  task->ns = ns;
  task->id = id;
  task->dir = TaskDir(ns, id);
  task->socket = SocketPath(ns, id, absl::StrCat("/", absl::ToUnixNanos(absl::Now())));
  task->log_path = !req.stdio().log_path().empty() ? req.stdio().log_path() : LogPath(ns, id);
  task->terminal = req.stdio().terminal();
  task->stdin_open = req.stdio().stdin_open();
  task->managed = container.labels().count(kRestartPolicyLabel) > 0;
  {
    absl::MutexLock l(&mu_);
    auto [it, fresh] = tasks_.try_emplace({ns, id}, nullptr);
    if (!fresh) {
      return absl::AlreadyExistsError(
          absl::StrCat("container ", id, " already has a task; delete it before creating another"));
    }
  }
  // From here on, a failure undoes everything and frees the name.
  bool ok = false;
  auto undo = [&] {
    if (ok) return;
    task->shim_released = true;
    if (task->shim) {
      v1::Request down;
      down.mutable_shutdown()->set_now(true);
      task->shim->Call(down, nullptr, absl::Seconds(10)).IgnoreError();
      task->shim->Close();
    }
    CleanUp(*task);
    absl::MutexLock l(&mu_);
    tasks_.erase({ns, id});
  };
  auto fail = [&](absl::Status st) {
    undo();
    return st;
  };

  // A directory left by a task whose daemon and shim both died goes first.
  if (sys::Exists(task->dir)) {
    Task stale;
    stale.ns = ns;
    stale.id = id;
    stale.dir = task->dir;
    stale.socket = task->socket;
    stale.rootfs_mounted = true;
    if (absl::StatusOr<std::string> text = sys::ReadFile(path::Join(task->dir, kTaskFile));
        text.ok()) {
      nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
      if (j.is_object()) stale.networks = j.value("networks", std::vector<std::string>{});
    }
    CleanUp(stale);
  }
  const std::string rootfs = path::Join(task->dir, "rootfs");
  if (absl::Status st = sys::MkdirAll(rootfs, 0711); !st.ok()) return fail(st);
  if (absl::Status st = sys::MkdirAll(path::Dir(task->log_path), 0700); !st.ok()) return fail(st);

  if (!req.rootfs().empty()) {
    std::vector<snapshotter::Mount> mounts;
    for (const auto& m : req.rootfs()) {
      mounts.push_back({.type = m.type(),
                        .source = m.source(),
                        .options = {m.options().begin(), m.options().end()}});
    }
    if (absl::Status st = snapshotter::MountAll(mounts, rootfs); !st.ok()) {
      return fail(Annotate(st, "mounting the container's rootfs"));
    }
    task->rootfs_mounted = true;
  }
  spec["root"]["path"] = "rootfs";
  spec["process"]["terminal"] = task->terminal;
  if (absl::Status st = ResolveUser(rootfs, spec["process"]); !st.ok()) return fail(st);
  if (absl::Status st = CopyUpVolumes(rootfs, spec, path::Join(config_.root, "volumes"));
      !st.ok()) {
    return fail(st);
  }
  absl::StatusOr<std::vector<network::Endpoint>> endpoints =
      PrepareNetworking(*task, container, spec);
  if (!endpoints.ok()) return fail(endpoints.status());
  if (absl::Status st = sys::WriteFileAtomic(path::Join(task->dir, "config.json"), spec.dump(),
                                             0600, sys::Durability::kVolatile);
      !st.ok()) {
    return fail(st);
  }
  nlohmann::json record = {{"namespace", ns},
                           {"id", id},
                           {"runtime", runtime},
                           {"terminal", task->terminal},
                           {"stdin_open", task->stdin_open},
                           {"log_path", task->log_path},
                           {"socket", task->socket},
                           {"networks", task->networks},
                           {"rootfs_mounted", task->rootfs_mounted},
                           {"managed", task->managed}};
  if (absl::Status st = sys::WriteFileAtomic(path::Join(task->dir, kTaskFile), record.dump(), 0600,
                                             sys::Durability::kVolatile);
      !st.ok()) {
    return fail(st);
  }
  if (absl::Status st = sys::MkdirAll(path::Dir(task->socket), 0700); !st.ok()) return fail(st);
  if (absl::Status st = LaunchShim(*task, runtime); !st.ok()) return fail(st);
  task->shim = Connect(task);
  if (task->shim == nullptr) {
    return fail(
        absl::InternalError(absl::StrCat("the shim for ", id, " started but does not answer")));
  }
  v1::Request create;
  v1::CreateRequest* c = create.mutable_create();
  c->set_id(id);
  c->set_bundle(task->dir);
  c->set_runtime_path(runtime);
  c->set_terminal(task->terminal);
  c->mutable_stdio()->set_stdin_open(task->stdin_open);
  c->mutable_stdio()->set_log_path(task->log_path);
  c->mutable_stdio()->set_stdin_path(req.stdio().stdin());
  c->mutable_stdio()->set_stdout_path(req.stdio().stdout());
  c->mutable_stdio()->set_stderr_path(req.stdio().stderr());
  if (auto p = container.labels().find(kPortsLabel); p != container.labels().end()) {
    absl::StatusOr<std::vector<PortSpec>> ports = ParsePortSpecs(p->second);
    if (!ports.ok()) return fail(ports.status());
    if (!ports->empty() && endpoints->empty()) {
      return fail(absl::FailedPreconditionError(
          "ports can only be published from a container on a bridge network"));
    }
    for (const PortSpec& spec_port : *ports) {
      v1::PortForward* f = c->add_ports();
      f->set_protocol(spec_port.protocol);
      f->set_host_ip(spec_port.host_ip);
      f->set_host_port(spec_port.host_port);
      f->set_container_ip(endpoints->front().address);
      f->set_container_port(spec_port.container_port);
    }
  }
  absl::StatusOr<ShimConnection::Reply> r = task->shim->Call(create);
  if (!r.ok()) return fail(r.status());
  const uint32_t pid = r->response.create().pid();
  std::vector<std::string> published;
  for (const v1::PortForward& f : r->response.create().ports()) {
    published.push_back(absl::StrCat(f.host_ip().empty() ? "0.0.0.0" : f.host_ip(), ":",
                                     f.host_port(), "->", f.container_port(), "/", f.protocol()));
  }
  // The runtime has made the container's network namespace; wire it before anything runs.
  for (const network::Endpoint& e : *endpoints) {
    absl::Status st = config_.networks->Plumb(e, absl::StrCat("/proc/", pid, "/ns/net"));
    if (!st.ok()) {
      return fail(Annotate(st, absl::StrCat("connecting the container to network ", e.network)));
    }
  }
  ok = true;
  {
    absl::MutexLock l(&mu_);
    tasks_[{ns, id}] = task;
  }
  if (!published.empty())
    SetLabels(ns, id, {{kPublishedPortsLabel, absl::StrJoin(published, ", ")}});
  epb::TaskCreate ev;
  ev.set_container_id(id);
  ev.set_bundle(task->dir);
  *ev.mutable_rootfs() = req.rootfs();
  ev.set_terminal(task->terminal);
  ev.set_pid(pid);
  publisher_.Publish(ns, "/tasks/create", ev);
  return pid;
}
absl::StatusOr<uint32_t> TaskManager::Start(const std::string& ns, const std::string& id,
                                            const std::string& exec_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<Task> t, Find(ns, id));
  v1::Request req;
  req.mutable_start()->set_exec_id(exec_id);
  // Published from the shim's reader thread as the answer arrives, so that the start event
  // always comes before the exit event that may follow it at once.
  auto published = [this, ns, id, exec_id](const v1::Response& resp) {
    const uint32_t pid = resp.start().pid();
    if (exec_id.empty()) {
      epb::TaskStart ev;
      ev.set_container_id(id);
      ev.set_pid(pid);
      Post([this, ns, ev] { publisher_.Publish(ns, "/tasks/start", ev); });
    } else {
      epb::TaskExecStarted ev;
      ev.set_container_id(id);
      ev.set_exec_id(exec_id);
      ev.set_pid(pid);
      Post([this, ns, ev] { publisher_.Publish(ns, "/tasks/exec-started", ev); });
    }
  };
  ASSIGN_OR_RETURN(ShimConnection::Reply r,
                   Call(ns, id, req, nullptr, absl::InfiniteDuration(), std::move(published)));
  if (exec_id.empty() && t->managed) {
    SetLabels(ns, id, {{kStartedAtLabel, Rfc3339(absl::Now())}, {kOomKilledLabel, ""}});
  }
  return r.response.start().pid();
}

absl::StatusOr<ShimConnection::Reply> TaskManager::Call(const std::string& ns,
                                                        const std::string& id, v1::Request req,
                                                        const std::function<bool()>& cancelled,
                                                        absl::Duration timeout,
                                                        ShimConnection::ReplyHook on_reply) {
  ASSIGN_OR_RETURN(std::shared_ptr<Task> t, Find(ns, id));
  if (t->shim_released) return Deleted(id);
  if (t->shim == nullptr || t->shim->closed()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the shim of container ", id,
                     " is gone (it was killed, or the machine restarted); "
                     "only delete works now"));
  }
  absl::StatusOr<ShimConnection::Reply> r =
      t->shim->Call(std::move(req), cancelled, timeout, std::move(on_reply));
  // A Delete that shut the shim down meanwhile (the daemon's own after the exit of a
  // container it manages, or a client's) makes the call fail on the way: the task is gone.
  if (!r.ok() && t->shim_released) return Deleted(id);
  return r;
}

absl::StatusOr<tpb::Process> TaskManager::State(const std::string& ns, const std::string& id,
                                                const std::string& exec_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<Task> t, Find(ns, id));
  tpb::Process p;
  p.set_container_id(id);
  p.set_exec_id(exec_id);
  if (t->shim == nullptr || t->shim->closed()) {
    // The shim is gone; what it wrote before going is all there is.
    const std::string file =
        path::Join(t->dir, exec_id.empty() ? "exit.json" : "exit-" + exec_id + ".json");
    if (absl::optional<tpb::WaitResponse> w = ExitFile(file)) {
      p.set_status(tpb::STOPPED);
      p.set_exit_status(w->exit_status());
      *p.mutable_exited_at() = w->exited_at();
    } else {
      p.set_status(tpb::UNKNOWN);
    }
    return p;
  }
  v1::Request req;
  req.mutable_state()->set_exec_id(exec_id);
  absl::StatusOr<ShimConnection::Reply> reply = t->shim->Call(req);
  if (!reply.ok() && t->shim_released) return Deleted(id);  // see Call
  if (!reply.ok()) return reply.status();
  const v1::StateResponse& s = reply->response.state();
  p.set_pid(s.pid());
  p.set_status(FromShim(s.status()));
  p.mutable_stdio()->set_terminal(s.terminal());
  p.mutable_stdio()->set_stdin_open(s.stdio().stdin_open());
  p.mutable_stdio()->set_log_path(s.stdio().log_path());
  if (s.status() == v1::STATUS_STOPPED) {
    p.set_exit_status(s.exit_status());
    services::ToProto(FromNanos(s.exited_at_unix_nano()), p.mutable_exited_at());
  }
  return p;
}

absl::StatusOr<tpb::WaitResponse> TaskManager::Wait(const std::string& ns, const std::string& id,
                                                    const std::string& exec_id,
                                                    const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(std::shared_ptr<Task> t, Find(ns, id));
  if (t->shim == nullptr || t->shim->closed()) {
    if (absl::optional<tpb::WaitResponse> w = ExitFile(
            path::Join(t->dir, exec_id.empty() ? "exit.json" : "exit-" + exec_id + ".json"))) {
      return *w;
    }
    return absl::FailedPreconditionError(
        absl::StrCat("the shim of container ", id, " is gone and left no exit status behind"));
  }
  v1::Request req;
  req.mutable_wait()->set_exec_id(exec_id);
  absl::StatusOr<ShimConnection::Reply> r = t->shim->Call(req, cancelled);
  if (!r.ok() && (t->shim_released || t->shim->closed())) {
    // A Delete shut the shim down while this call waited (see Call): the task is gone, and its
    // exit is on the record (see Delete) or in exit.json, not lost.
    if (absl::optional<tpb::WaitResponse> w = ExitFile(
            path::Join(t->dir, exec_id.empty() ? "exit.json" : "exit-" + exec_id + ".json"))) {
      return *w;
    }
    return Deleted(id);
  }
  if (!r.ok()) return r.status();
  tpb::WaitResponse w;
  w.set_exit_status(r->response.wait().exit_status());
  services::ToProto(FromNanos(r->response.wait().exited_at_unix_nano()), w.mutable_exited_at());
  return w;
}

absl::StatusOr<tpb::DeleteResponse> TaskManager::Delete(const std::string& ns,
                                                        const std::string& id) {
  absl::MutexLock container_lock(ContainerLock(ns, id));
  ASSIGN_OR_RETURN(std::shared_ptr<Task> t, Find(ns, id));
  // One delete at a time (a client's `rm -f` meets the daemon's own after the exit of a
  // managed container); the later one finds the task gone.
  absl::MutexLock deleting(&t->delete_mu);
  {
    absl::MutexLock l(&mu_);
    auto it = tasks_.find({ns, id});
    if (it == tasks_.end() || it->second != t) {
      return absl::NotFoundError(
          absl::StrCat("the task of container ", id, " was deleted meanwhile"));
    }
  }
  tpb::DeleteResponse out;
  out.set_container_id(id);
  if (t->shim != nullptr && !t->shim->closed()) {
    v1::Request del;
    del.mutable_delete_()->set_exec_id("");
    absl::StatusOr<ShimConnection::Reply> r = t->shim->Call(del);
    if (absl::IsFailedPrecondition(r.status())) {
      // A task that was created but never started (its start was cut short, by a crash or
      // a client that went away) goes as Docker removes a created container: killed first.
      v1::Request state;
      state.mutable_state();
      absl::StatusOr<ShimConnection::Reply> s = t->shim->Call(state);
      if (s.ok() && s->response.state().status() == v1::STATUS_CREATED) {
        v1::Request kill;
        kill.mutable_kill()->set_signal(SIGKILL);
        kill.mutable_kill()->set_all(true);
        v1::Request wait;
        wait.mutable_wait();
        if (t->shim->Call(kill).ok()) t->shim->Call(wait, nullptr, absl::Seconds(10)).IgnoreError();
        r = t->shim->Call(del);
      }
    }
    if (r.ok()) {
      out.set_pid(r->response.delete_().pid());
      out.set_exit_status(r->response.delete_().exit_status());
      services::ToProto(FromNanos(r->response.delete_().exited_at_unix_nano()),
                        out.mutable_exited_at());
    } else if (absl::IsNotFound(r.status())) {
      // The shim never created the init: berthd died between starting it and asking.
      out.set_exit_status(255);
      services::ToProto(absl::Now(), out.mutable_exited_at());
    } else {
      return r.status();
    }
    v1::Request down;
    down.mutable_shutdown()->set_now(true);
    t->shim_released = true;
    t->shim->Call(down, nullptr, absl::Seconds(10)).IgnoreError();
  } else if (!ShimAlive(t->dir)) {
    // Whatever the dead shim left goes now, whether or not ShimGone got to it.
    tpb::WaitResponse w = EndOrphan(*t);
    out.set_exit_status(w.exit_status());
    *out.mutable_exited_at() = w.exited_at();
  } else if (absl::optional<tpb::WaitResponse> w = ExitFile(path::Join(t->dir, "exit.json"))) {
    out.set_exit_status(w->exit_status());
    *out.mutable_exited_at() = w->exited_at();
  } else {
    out.set_exit_status(255);  // the shim died with the container; nobody saw the end
  }
  // On the record before the task disappears, so that whoever finds no task finds the exit.
  if (t->managed) {
    SetLabels(ns, id,
              {{kPublishedPortsLabel, ""},
               {kExitStatusLabel, absl::StrCat(out.exit_status())},
               {kExitedAtLabel, Rfc3339(services::FromProto(out.exited_at()))}});
  }
  {
    absl::MutexLock l(&mu_);
    auto it = tasks_.find({ns, id});
    if (it == tasks_.end() || it->second != t) {
      return absl::NotFoundError(
          absl::StrCat("the task of container ", id, " was deleted meanwhile"));
    }
    tasks_.erase(it);
  }
  if (t->shim) t->shim->Close();
  CleanUp(*t);
  epb::TaskDelete ev;
  ev.set_container_id(id);
  ev.set_pid(out.pid());
  ev.set_exit_status(out.exit_status());
  *ev.mutable_exited_at() = out.exited_at();
  publisher_.Publish(ns, "/tasks/delete", ev);
  return out;
}
}  // namespace berth::tasks
