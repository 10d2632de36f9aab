#include "services/tasks/task_manager.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "berth/events/v1/events.pb.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/events/v1/events.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "common/digest.h"
#include "common/grpc_status.h"
#include "common/namespace.h"
#include "common/path.h"
#include "common/port_spec.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/user.h"
#include "services/common/proto_time.h"
#include "services/tasks/anonymous_volumes.h"
#include "services/tasks/volume_copyup.h"
#include "snapshotter/mount/mount.h"
#include "snapshotter/storage/fsutil.h"
#include "spdlog/spdlog.h"

extern char** environ;

namespace berth::tasks {
namespace {

namespace tpb = ::berth::services::tasks::v1;
namespace cpb = ::berth::services::containers::v1;
namespace spb = ::berth::services::snapshots::v1;
namespace epb = ::berth::events::v1;
namespace v1 = ::berth::shim::v1;

constexpr char kTaskFile[] = "task.json";
constexpr auto kCallDeadline = std::chrono::seconds(30);
// A restarting container waits 100 ms, doubling per restart, at most a minute (as Docker).
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Minutes(1);

std::unique_ptr<grpc::ClientContext> CallContext(const std::string& ns) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata(kNamespaceMetadataKey, ns);
  ctx->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  return ctx;
}

absl::Time FromNanos(int64_t nanos) { return absl::FromUnixNanos(nanos); }

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

tpb::Status FromShim(v1::Status s) { return static_cast<tpb::Status>(s); }

// The exit recorded by the shim before it told anyone (exit.json), for a shim that is gone.
absl::optional<tpb::WaitResponse> ExitFile(const std::string& file) {
  absl::StatusOr<std::string> text = sys::ReadFile(file);
  if (!text.ok()) return absl::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return absl::nullopt;
  tpb::WaitResponse w;
  w.set_exit_status(j.value("exit_status", 255u));
  services::ToProto(FromNanos(j.value("exited_at", int64_t{0})), w.mutable_exited_at());
  return w;
}

// A restart policy as the CLI writes it: no | always | unless-stopped | on-failure[:N].
struct RestartPolicy {
  std::string name = "no";
  int max_retries = 0;  // on-failure only; 0 = unlimited
};

RestartPolicy ParsePolicy(const std::string& text) {
  RestartPolicy p;
  std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits(':', 1));
  p.name = parts.empty() ? "no" : parts[0];
  if (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &p.max_retries)) p.max_retries = 0;
  return p;
}

std::string LabelOr(const cpb::Container& c, const std::string& key, const std::string& def) {
  auto it = c.labels().find(key);
  return it == c.labels().end() ? def : it->second;
}

// Whether the shim whose pid a task directory records still runs (a zombie does not).
bool ShimAlive(const std::string& task_dir) {
  int pid = 0;
  absl::StatusOr<std::string> text = sys::ReadFile(path::Join(task_dir, "shim.pid"));
  if (!text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 0) {
    return false;
  }
  absl::StatusOr<std::string> stat = sys::ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t close = stat.ok() ? stat->rfind(')') : std::string::npos;
  if (close == std::string::npos || close + 2 >= stat->size() || (*stat)[close + 2] == 'Z') {
    return false;
  }
  absl::StatusOr<std::string> cmdline = sys::ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
  return cmdline.ok() && path::Base(cmdline->substr(0, cmdline->find('\0'))) == "berth-shim";
}

// Where cgroup2 is mounted (the last such line of mountinfo wins); empty when it is not.
std::string Cgroup2Mount() {
  absl::StatusOr<std::string> text = sys::ReadFile("/proc/self/mountinfo");
  std::string found;
  for (absl::string_view line : absl::StrSplit(text.value_or(""), '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() >= 5 && dash != f.end() && dash + 1 != f.end() && *(dash + 1) == "cgroup2") {
      found = std::string(f[4]);
    }
  }
  return found;
}

bool CgroupPopulated(const std::string& dir) {
  absl::StatusOr<std::string> events = sys::ReadFile(path::Join(dir, "cgroup.events"));
  return events.ok() && absl::StrContains(*events, "populated 1");
}

// Kills every process in the cgroup `dir` and removes it, waiting up to 5 s for them to go.
void KillCgroup(const std::string& dir) {
  if (CgroupPopulated(dir) &&
      !sys::WriteFileAtomic(path::Join(dir, "cgroup.kill"), "1", 0644).ok()) {
    // No cgroup.kill (before Linux 5.14): each process by hand.
    for (absl::string_view pid :
         absl::StrSplit(sys::ReadFile(path::Join(dir, "cgroup.procs")).value_or(""), '\n',
                        absl::SkipEmpty())) {
      if (int p = 0; absl::SimpleAtoi(pid, &p) && p > 0) ::kill(p, SIGKILL);
    }
  }
  for (int i = 0; i < 250 && CgroupPopulated(dir); ++i) absl::SleepFor(absl::Milliseconds(20));
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    spdlog::warn("removing cgroup {}: {}", dir, std::strerror(errno));
  }
}

// What a call on a task that a Delete took away meanwhile answers.
absl::Status Deleted(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("the task of container ", id, " was deleted"));
}

}  // namespace

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

std::string TaskManager::SocketPath(const std::string& ns, const std::string& id,
                                    const std::string& nonce) const {
  // Namespaces and ids may be long; a hash keeps the path within sun_path. The nonce makes
  // each task's socket its own: an old shim on its way out unlinks its path, which must never
  // be the next task's.
  return path::Join(path::Join(config_.state, "s"),
                    Sha256Of(absl::StrCat(ns, "/", id, nonce)).hex().substr(0, 24));
}

std::string TaskManager::LogPath(const std::string& ns, const std::string& id) const {
  return absl::StrCat(config_.root, "/logs/", ns, "/", id, "/log.json");
}

absl::StatusOr<std::string> TaskManager::ResolveRuntime(const std::string& name) const {
  const std::string want = name.empty() ? config_.default_runtime : name;
  if (auto it = config_.runtimes.find(want); it != config_.runtimes.end()) return it->second;
  if (path::IsAbsolute(want)) {
    if (::access(want.c_str(), X_OK) == 0) return want;
  } else if (want.find('/') == std::string::npos) {
    const char* env = ::getenv("PATH");
    for (absl::string_view dir : absl::StrSplit(env ? env : "/usr/local/bin:/usr/bin:/bin", ':')) {
      const std::string candidate = path::Join(std::string(dir), want);
      if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("runtime \"", want,
                   "\" was not found: name one under `runtimes:` in berthd's config, give "
                   "an absolute path, or put it on berthd's PATH"));
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

absl::Status TaskManager::LaunchShim(const Task& task, const std::string& runtime) {
  const std::string log = path::Join(task.dir, "shim.log");
  std::vector<std::string> args = {config_.shim,
                                   "--id",
                                   task.id,
                                   "--socket",
                                   task.socket,
                                   "--state",
                                   task.dir,
                                   "--runtime",
                                   runtime,
                                   "--runtime-root",
                                   path::Join(path::Join(config_.state, "runtime"), task.ns),
                                   "--runtime-timeout",
                                   absl::FormatDuration(config_.runtime_timeout)};
  if (config_.log_max_size > 0) {
    args.insert(args.end(), {"--log-max-size", absl::StrCat(config_.log_max_size),
                             "--log-max-files", absl::StrCat(config_.log_max_files)});
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  // berthd blocks its stop signals in every thread; the shim, and through it the container,
  // must start with none blocked and every handler at its default.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, config_.shim.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoStatus(absl::StrCat("starting the shim ", config_.shim), rc);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string why = sys::ReadFile(log).value_or("");
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return absl::InternalError(absl::StrCat(
        "the shim for ", task.id, " failed to start: ", why.empty() ? "no message" : why));
  }
  return absl::OkStatus();
}

std::shared_ptr<ShimConnection> TaskManager::Connect(const std::shared_ptr<Task>& task) {
  std::weak_ptr<Task> weak = task;
  absl::StatusOr<std::shared_ptr<ShimConnection>> c = ShimConnection::Dial(
      task->socket,
      [this, weak](const v1::Event& e) {
        if (std::shared_ptr<Task> t = weak.lock()) OnEvent(t, e);
      },
      [this, weak] {
        std::shared_ptr<Task> t = weak.lock();
        if (t == nullptr) return;
        t->init_exited = true;
        if (t->shim_released) return;
        // Killed, or crashed: cleaning up calls services, which a reader thread must not.
        Post([this, weak] {
          if (std::shared_ptr<Task> gone = weak.lock()) ShimGone(gone);
        });
      });
  if (!c.ok()) {
    spdlog::warn("task {}/{}: {}", task->ns, task->id, std::string(c.status().message()));
    return nullptr;
  }
  return *std::move(c);
}

void TaskManager::OnEvent(const std::shared_ptr<Task>& task, const v1::Event& e) {
  if (e.has_exit()) {
    epb::TaskExit x;
    x.set_container_id(task->id);
    x.set_exec_id(e.exit().exec_id());
    x.set_pid(e.exit().pid());
    x.set_exit_status(e.exit().exit_status());
    services::ToProto(FromNanos(e.exit().exited_at_unix_nano()), x.mutable_exited_at());
    const bool init = e.exit().exec_id().empty();
    if (init) {
      task->init_exited = true;
      task->exit_reported = true;
    }
    const std::string ns = task->ns, id = task->id;
    const uint32_t status = e.exit().exit_status();
    const bool managed = task->managed;
    Post([this, ns, id, x, init, status, managed, task] {
      publisher_.Publish(ns, "/tasks/exit", x);
      if (init && managed) AfterExit(ns, id, status, task);
    });
  } else if (e.has_oom()) {
    epb::TaskOOM o;
    o.set_container_id(task->id);
    const std::string ns = task->ns, id = task->id;
    const bool managed = task->managed;
    Post([this, ns, id, o, managed] {
      publisher_.Publish(ns, "/tasks/oom", o);
      if (managed) SetLabels(ns, id, {{kOomKilledLabel, "true"}});
    });
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

absl::StatusOr<std::vector<network::Endpoint>> TaskManager::PrepareNetworking(
    Task& task, const cpb::Container& c, nlohmann::json& spec) {
  std::vector<network::Endpoint> endpoints;
  auto mode_label = c.labels().find(kNetworkLabel);
  if (mode_label == c.labels().end() || config_.networks == nullptr) return endpoints;
  const std::string mode =
      mode_label->second == "default" ? config_.default_network : mode_label->second;
  const std::string hostname = spec.contains("hostname") && spec["hostname"].is_string()
                                   ? spec["hostname"].get<std::string>()
                                   : task.id.substr(0, 12);
  network::ContainerFiles files;
  if (mode == "host") {
    // The host's own names, copied: the container may change its copy without touching ours.
    char name[256] = {};
    ::gethostname(name, sizeof(name) - 1);
    files = {.hosts = path::Join(task.dir, "hosts"),
             .hostname = path::Join(task.dir, "hostname"),
             .resolv_conf = path::Join(task.dir, "resolv.conf")};
    RETURN_IF_ERROR(
        sys::WriteFileAtomic(files.hosts, sys::ReadFile("/etc/hosts").value_or(""), 0644));
    RETURN_IF_ERROR(sys::WriteFileAtomic(files.hostname, absl::StrCat(name, "\n"), 0644));
    RETURN_IF_ERROR(sys::WriteFileAtomic(files.resolv_conf,
                                         sys::ReadFile("/etc/resolv.conf").value_or(""), 0644));
  } else {
    if (mode != "none") {
      for (absl::string_view net : absl::StrSplit(mode, ',', absl::SkipEmpty())) {
        ASSIGN_OR_RETURN(network::Endpoint e,
                         config_.networks->Allocate(std::string(net), task.ns, task.id, c.name(),
                                                    hostname, absl::StrCat("eth", endpoints.size()),
                                                    path::Join(task.dir, "hosts")));
        task.networks.push_back(e.network);
        endpoints.push_back(std::move(e));
      }
    }
    ASSIGN_OR_RETURN(files, config_.networks->WriteFiles(task.dir, hostname, endpoints));
    for (const std::string& net : task.networks) config_.networks->RefreshHosts(net);
  }
  nlohmann::json mounts = spec.value("mounts", nlohmann::json::array());
  for (const auto& [dest, source] : {std::pair<std::string, std::string>{"/etc/hosts", files.hosts},
                                     {"/etc/hostname", files.hostname},
                                     {"/etc/resolv.conf", files.resolv_conf}}) {
    nlohmann::json kept = nlohmann::json::array();
    for (const nlohmann::json& m : mounts) {
      if (m.value("destination", "") != dest) kept.push_back(m);
    }
    kept.push_back({{"destination", dest},
                    {"type", "bind"},
                    {"source", source},
                    {"options", {"rbind", "rprivate"}}});
    mounts = std::move(kept);
  }
  spec["mounts"] = std::move(mounts);
  return endpoints;
}

std::vector<std::string> TaskManager::NetworksOf(const cpb::Container& c) const {
  auto it = c.labels().find(kNetworkLabel);
  const std::string mode = it == c.labels().end() ? "none" : it->second;
  std::vector<std::string> nets =
      absl::StrSplit(mode == "default" ? config_.default_network : mode, ',', absl::SkipEmpty());
  return nets;
}

absl::Status TaskManager::ConnectNetwork(const std::string& ns, const std::string& ref,
                                         const std::string& net) {
  if (config_.networks == nullptr) return absl::FailedPreconditionError("networking is off");
  ASSIGN_OR_RETURN(cpb::Container c, GetContainer(ns, ref));
  const std::string& id = c.id();
  std::vector<std::string> nets = NetworksOf(c);
  nets.erase(std::remove(nets.begin(), nets.end(), "none"), nets.end());
  if (std::find(nets.begin(), nets.end(), "host") != nets.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", id, " uses the network mode \"", nets.front(),
                     "\", which cannot be combined with other networks"));
  }
  ASSIGN_OR_RETURN(network::NetworkConfig config, config_.networks->Get(net));
  if (std::find(nets.begin(), nets.end(), config.name) != nets.end()) {
    return absl::AlreadyExistsError(
        absl::StrCat("container ", id, " is already on network ", config.name));
  }
  absl::StatusOr<std::shared_ptr<Task>> t = Find(ns, id);
  if (t.ok() && !(*t)->init_exited) {
    absl::StatusOr<::berth::services::tasks::v1::Process> p = State(ns, id, "");
    if (p.ok() && p->pid() != 0) {
      ASSIGN_OR_RETURN(network::Endpoint e,
                       config_.networks->Allocate(config.name, ns, id, c.name(), c.name(),
                                                  absl::StrCat("eth", (*t)->networks.size()),
                                                  path::Join((*t)->dir, "hosts")));
      absl::Status st = config_.networks->Plumb(e, absl::StrCat("/proc/", p->pid(), "/ns/net"));
      if (!st.ok()) {
        config_.networks->Release(config.name, ns, id).IgnoreError();
        return st;
      }
      (*t)->networks.push_back(config.name);
      config_.networks->RefreshHosts(config.name);
    }
  }
  nets.push_back(config.name);
  SetLabels(ns, id, {{kNetworkLabel, absl::StrJoin(nets, ",")}});
  return absl::OkStatus();
}

absl::Status TaskManager::DisconnectNetwork(const std::string& ns, const std::string& ref,
                                            const std::string& net) {
  if (config_.networks == nullptr) return absl::FailedPreconditionError("networking is off");
  ASSIGN_OR_RETURN(cpb::Container c, GetContainer(ns, ref));
  const std::string& id = c.id();
  ASSIGN_OR_RETURN(network::NetworkConfig config, config_.networks->Get(net));
  std::vector<std::string> nets = NetworksOf(c);
  auto it = std::find(nets.begin(), nets.end(), config.name);
  if (it == nets.end()) {
    return absl::NotFoundError(
        absl::StrCat("container ", id, " is not connected to network ", config.name));
  }
  nets.erase(it);
  RETURN_IF_ERROR(config_.networks->Release(config.name, ns, id));
  if (absl::StatusOr<std::shared_ptr<Task>> t = Find(ns, id); t.ok()) {
    auto& tn = (*t)->networks;
    tn.erase(std::remove(tn.begin(), tn.end(), config.name), tn.end());
  }
  SetLabels(ns, id, {{kNetworkLabel, nets.empty() ? "none" : absl::StrJoin(nets, ",")}});
  return absl::OkStatus();
}

void TaskManager::CleanUp(Task& task) {
  if (config_.networks != nullptr) {
    for (const std::string& net : task.networks) {
      config_.networks->Release(net, task.ns, task.id).IgnoreError();
    }
    task.networks.clear();
  }
  if (!task.socket.empty()) sys::RemoveIfExists(task.socket).IgnoreError();
  const std::string rootfs = path::Join(task.dir, "rootfs");
  if (task.rootfs_mounted) {
    // EINVAL: not mounted; ENOENT: gone already (a removal that a crash cut short).
    auto unmounted = [](const absl::Status& st) {
      return st.ok() || absl::IsInvalidArgument(st) || absl::IsNotFound(st);
    };
    absl::Status st = snapshotter::Unmount(rootfs);
    if (!unmounted(st)) st = snapshotter::Unmount(rootfs, /*detach=*/true);
    if (!unmounted(st)) {
      // Never delete through a mount that is still there: that would empty the container's
      // snapshot. Leave the directory for the next attempt.
      spdlog::error("task {}: cannot unmount {}: {}", task.id, rootfs, std::string(st.message()));
      return;
    }
    task.rootfs_mounted = false;
  }
  if (absl::Status st = snapshotter::RemoveAll(task.dir); !st.ok()) {
    spdlog::warn("task {}: removing {}: {}", task.id, task.dir, std::string(st.message()));
  }
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

void TaskManager::Recover() {
  const std::string base = path::Join(config_.state, "tasks");
  auto entries = [](const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..") out.push_back(name);
      }
      ::closedir(d);
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> exited;
  std::vector<std::pair<std::shared_ptr<Task>, tpb::WaitResponse>> orphans;
  for (const std::string& ns : entries(base)) {
    for (const std::string& id : entries(path::Join(base, ns))) {
      const std::string dir = path::Join(path::Join(base, ns), id);
      absl::StatusOr<std::string> text = sys::ReadFile(path::Join(dir, kTaskFile));
      nlohmann::json j =
          text.ok() ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
      auto task = std::make_shared<Task>();
      task->ns = ns;
      task->id = id;
      task->dir = dir;
      if (!j.is_object()) {
        // Creation died half-way, before the record was written: nothing runs there.
        spdlog::info("removing the unfinished task directory {}", dir);
        task->rootfs_mounted = true;
        CleanUp(*task);
        continue;
      }
      task->socket = j.value("socket", SocketPath(ns, id));
      task->log_path = j.value("log_path", LogPath(ns, id));
      task->terminal = j.value("terminal", false);
      task->stdin_open = j.value("stdin_open", false);
      task->rootfs_mounted = j.value("rootfs_mounted", false);
      task->managed = j.value("managed", false);
      task->networks = j.value("networks", std::vector<std::string>{});
      task->shim = Connect(task);
      // A live shim that does not answer yet (a busy machine) gets a moment.
      for (int i = 0; i < 20 && task->shim == nullptr && ShimAlive(dir); ++i) {
        absl::SleepFor(absl::Milliseconds(100));
        task->shim = Connect(task);
      }
      if (task->shim == nullptr) task->init_exited = true;
      {
        absl::MutexLock l(&mu_);
        tasks_[{ns, id}] = task;
      }
      if (task->shim == nullptr && !ShimAlive(dir) && !task->gone_handled.exchange(true)) {
        // Its shim died while berthd was down: end the container now, before anyone looks,
        // and report the exit once berthd serves.
        tpb::WaitResponse w = EndOrphan(*task);
        spdlog::info("task {}/{}: its shim is gone; exit status {}", ns, id, w.exit_status());
        orphans.emplace_back(task, w);
        continue;
      }
      absl::StatusOr<tpb::Process> p = State(ns, id, "");
      const bool stopped = !p.ok() || p->status() == tpb::STOPPED || p->status() == tpb::UNKNOWN;
      spdlog::info("task {}/{}: reconnected ({})", ns, id,
                   task->shim ? (stopped ? "exited" : "running") : "its shim is gone");
      if (stopped) {
        task->init_exited = true;
        task->exit_reported = true;  // what an exit calls for is done below, once
        if (task->managed) exited.emplace_back(ns, id);
      }
    }
  }
  // Exits that happened while the daemon was down get the same treatment as live ones.
  for (const auto& [ns, id] : exited) {
    absl::StatusOr<tpb::Process> p = State(ns, id, "");
    const uint32_t status = p.ok() ? p->exit_status() : 255;
    Post([this, ns = ns, id = id, status] {
      // Recovery runs before berthd serves; in-process channels appear once it does.
      for (int i = 0; i < 100 && channels_("containers") == nullptr; ++i) {
        absl::SleepFor(absl::Milliseconds(100));
      }
      AfterExit(ns, id, status);
    });
  }
  for (auto& [task, w] : orphans) {
    Post([this, task = task, w = w] {
      for (int i = 0; i < 100 && channels_("containers") == nullptr; ++i) {
        absl::SleepFor(absl::Milliseconds(100));
      }
      ReportExit(task, w);
    });
  }
}

void TaskManager::ShimGone(const std::shared_ptr<Task>& t) {
  if (t->shim_released || t->gone_handled.exchange(true)) return;
  {
    absl::MutexLock l(&mu_);
    auto it = tasks_.find({t->ns, t->id});
    if (it == tasks_.end() || it->second != t) return;  // deleted meanwhile
  }
  if (ShimAlive(t->dir)) {
    spdlog::warn("task {}/{}: the connection to its shim broke, but the shim still runs", t->ns,
                 t->id);
    return;
  }
  const bool reported = t->exit_reported;
  tpb::WaitResponse w = EndOrphan(*t);
  spdlog::warn("task {}/{}: its shim died; the container is stopped (exit status {})", t->ns, t->id,
               w.exit_status());
  if (!reported) ReportExit(t, w);
}

void TaskManager::ReportExit(const std::shared_ptr<Task>& t, const tpb::WaitResponse& w) {
  epb::TaskExit x;
  x.set_container_id(t->id);
  if (absl::StatusOr<std::string> pid = sys::ReadFile(path::Join(t->dir, "init.pid")); pid.ok()) {
    if (uint32_t p = 0; absl::SimpleAtoi(absl::StripAsciiWhitespace(*pid), &p)) x.set_pid(p);
  }
  x.set_exit_status(w.exit_status());
  *x.mutable_exited_at() = w.exited_at();
  publisher_.Publish(t->ns, "/tasks/exit", x);
  if (t->managed) AfterExit(t->ns, t->id, w.exit_status());
}

tpb::WaitResponse TaskManager::EndOrphan(const Task& t) {
  // The container's cgroup, as its spec names it (berth-runtime's default otherwise).
  std::string cgroups_path = "/berth/" + t.id;
  if (absl::StatusOr<std::string> text = sys::ReadFile(path::Join(t.dir, "config.json"));
      text.ok()) {
    nlohmann::json spec = nlohmann::json::parse(*text, nullptr, false);
    if (spec.is_object() && spec.contains("linux") && spec["linux"].is_object() &&
        spec["linux"].value("cgroupsPath", "") != "") {
      cgroups_path = spec["linux"]["cgroupsPath"].get<std::string>();
    }
  }
  if (const std::string mount = Cgroup2Mount();
      !mount.empty() && cgroups_path.find(':') == std::string::npos) {  // not systemd's form
    const std::string dir = path::Join(mount, cgroups_path);
    if (dir != path::Clean(mount) && sys::Exists(dir)) KillCgroup(dir);
  }
  // What `runtime delete` would have removed: the runtime's record of the container.
  snapshotter::RemoveAll(path::Join(path::Join(path::Join(config_.state, "runtime"), t.ns), t.id))
      .IgnoreError();
  const std::string file = path::Join(t.dir, "exit.json");
  if (absl::optional<tpb::WaitResponse> w = ExitFile(file)) return *w;
  tpb::WaitResponse w;
  w.set_exit_status(128 + SIGKILL);
  const absl::Time now = absl::Now();
  services::ToProto(now, w.mutable_exited_at());
  sys::WriteFileAtomic(file,
                       absl::StrCat("{\"exit_status\":", w.exit_status(),
                                    ",\"exited_at\":", absl::ToUnixNanos(now), "}\n"),
                       0644, sys::Durability::kVolatile)
      .IgnoreError();
  return w;
}

void TaskManager::AfterExit(const std::string& ns, const std::string& id, uint32_t status,
                            const std::shared_ptr<Task>& exited) {
  if (exited != nullptr) {
    // Only the task that exited is ours to clean up: a client may already have deleted it and
    // started the container again (berth restart), and that new task is not to be touched.
    absl::StatusOr<std::shared_ptr<Task>> current = Find(ns, id);
    if (!current.ok() || *current != exited) return;
  }
  absl::StatusOr<cpb::Container> c = GetContainer(ns, id);
  if (!c.ok()) return;  // removed meanwhile
  const RestartPolicy policy = ParsePolicy(LabelOr(*c, kRestartPolicyLabel, "no"));
  const bool stopped_by_user = LabelOr(*c, kManuallyStoppedLabel, "") == "true";
  int count = 0;
  if (!absl::SimpleAtoi(LabelOr(*c, kRestartCountLabel, "0"), &count)) count = 0;
  bool restart = false;
  if (!stopped_by_user) {
    if (policy.name == "always" || policy.name == "unless-stopped") restart = true;
    if (policy.name == "on-failure" && status != 0 &&
        (policy.max_retries == 0 || count < policy.max_retries)) {
      restart = true;
    }
  }
  absl::StatusOr<std::shared_ptr<Task>> old = Find(ns, id);
  const bool terminal = old.ok() && (*old)->terminal;
  const bool stdin_open = old.ok() && (*old)->stdin_open;
  if (absl::StatusOr<tpb::DeleteResponse> d = Delete(ns, id);
      !d.ok() && d.status().code() != absl::StatusCode::kNotFound) {
    spdlog::warn("container {}/{} exited but its task could not be deleted: {}", ns, id,
                 std::string(d.status().message()));
    return;
  }
  if (!restart && c->auto_remove()) {
    if (std::shared_ptr<grpc::Channel> ch = channels_("containers")) {
      cpb::DeleteContainerRequest del;
      del.set_id(id);
      google::protobuf::Empty e;
      cpb::Containers::NewStub(ch)->Delete(CallContext(ns).get(), del, &e);
    }
    RemoveAnonymousVolumes(channels_, ns, *c);
    if (std::shared_ptr<grpc::Channel> ch = channels_("snapshots");
        ch != nullptr && !c->snapshot_key().empty()) {
      spb::RemoveSnapshotRequest rm;
      rm.set_snapshotter(c->snapshotter());
      rm.set_key(c->snapshot_key());
      google::protobuf::Empty e;
      spb::Snapshots::NewStub(ch)->Remove(CallContext(ns).get(), rm, &e);
    }
    snapshotter::RemoveAll(path::Dir(LogPath(ns, id))).IgnoreError();
    return;
  }
  if (!restart) return;
  absl::Duration backoff = kFirstBackoff;
  for (int i = 0; i < count && backoff < kMaxBackoff; ++i) backoff *= 2;
  backoff = std::min(backoff, kMaxBackoff);
  SetLabels(ns, id, {{kRestartCountLabel, absl::StrCat(count + 1)}});
  spdlog::info("restarting container {}/{} (policy {}, exit {}, restart {} in {})", ns, id,
               policy.name, status, count + 1, absl::FormatDuration(backoff));
  Post(
      [this, ns, id, terminal, stdin_open] {
        absl::StatusOr<cpb::Container> now = GetContainer(ns, id);
        if (!now.ok() || LabelOr(*now, kManuallyStoppedLabel, "") == "true") return;
        tpb::CreateTaskRequest req;
        req.set_container_id(id);
        req.mutable_stdio()->set_terminal(terminal);
        req.mutable_stdio()->set_stdin_open(stdin_open);
        if (!now->snapshot_key().empty()) {
          std::shared_ptr<grpc::Channel> ch = channels_("snapshots");
          spb::MountsRequest mr;
          mr.set_snapshotter(now->snapshotter());
          mr.set_key(now->snapshot_key());
          spb::MountsResponse mounts;
          grpc::Status st =
              ch ? spb::Snapshots::NewStub(ch)->Mounts(CallContext(ns).get(), mr, &mounts)
                 : grpc::Status(grpc::StatusCode::UNAVAILABLE, "no snapshots service");
          if (!st.ok()) {
            spdlog::warn("cannot restart {}/{}: {}", ns, id, st.error_message());
            return;
          }
          *req.mutable_rootfs() = mounts.mounts();
        }
        absl::StatusOr<uint32_t> created = Create(ns, req);
        absl::StatusOr<uint32_t> started =
            created.ok() ? Start(ns, id, "") : absl::StatusOr<uint32_t>(created.status());
        if (!started.ok()) {
          spdlog::warn("cannot restart {}/{}: {}", ns, id, std::string(started.status().message()));
        }
      },
      backoff);
}

void TaskManager::ForgetDeletedContainers() {
  for (;;) {
    {
      absl::MutexLock l(&sub_mu_);
      if (sub_stopping_) return;
    }
    std::shared_ptr<grpc::Channel> ch = channels_("events");
    if (ch == nullptr) {  // not serving yet, or stopping
      absl::MutexLock l(&sub_mu_);
      sub_mu_.AwaitWithTimeout(absl::Condition(&sub_stopping_), absl::Milliseconds(200));
      continue;
    }
    grpc::ClientContext ctx;
    {
      absl::MutexLock l(&sub_mu_);
      if (sub_stopping_) return;
      subscription_ = &ctx;
    }
    ::berth::services::events::v1::SubscribeRequest req;
    req.add_filters("topic==/containers/delete");
    auto stream = ::berth::services::events::v1::Events::NewStub(ch)->Subscribe(&ctx, req);
    ::berth::services::events::v1::Envelope env;
    while (stream->Read(&env)) {
      epb::ContainerDelete e;
      if (!env.event().UnpackTo(&e) || e.id().empty() || e.id().find('/') != std::string::npos) {
        continue;
      }
      snapshotter::RemoveAll(path::Dir(LogPath(env.namespace_(), e.id()))).IgnoreError();
    }
    stream->Finish();
    ch.reset();
    absl::MutexLock l(&sub_mu_);
    subscription_ = nullptr;
    // The bus went away (shutdown, restart): retry soon, unless stopping.
    sub_mu_.AwaitWithTimeout(absl::Condition(&sub_stopping_), absl::Milliseconds(200));
  }
}

void TaskManager::Post(std::function<void()> fn, absl::Duration delay) {
  absl::MutexLock l(&work_mu_);
  work_.push_back({absl::Now() + delay, std::move(fn)});
}

void TaskManager::WorkLoop() {
  for (;;) {
    std::function<void()> fn;
    {
      absl::MutexLock l(&work_mu_);
      for (;;) {
        if (stopping_) return;
        auto due = std::min_element(work_.begin(), work_.end(),
                                    [](const Work& a, const Work& b) { return a.at < b.at; });
        const absl::Time now = absl::Now();
        if (due != work_.end() && due->at <= now) {
          fn = std::move(due->fn);
          work_.erase(due);
          break;
        }
        const size_t seen = work_.size();
        auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(work_mu_) {
          return stopping_ || work_.size() != seen;
        };
        work_mu_.AwaitWithTimeout(absl::Condition(&changed),
                                  due == work_.end() ? absl::InfiniteDuration() : due->at - now);
      }
    }
    fn();
  }
}

}  // namespace berth::tasks
