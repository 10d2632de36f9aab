// TaskManager and its shims: launching and connecting to one, finding them again after a
// daemon restart (Recover), and cleaning up a task's directory, socket and endpoints.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/digest.h"
#include "common/path.h"
#include "common/syscall.h"
#include "services/common/proto_time.h"
#include "services/tasks/task_manager.h"
#include "services/tasks/task_manager_internal.h"
#include "snapshotter/mount/mount.h"
#include "snapshotter/storage/fsutil.h"
#include "spdlog/spdlog.h"

extern char** environ;

namespace berth::tasks {
namespace {

using internal::kTaskFile;
using internal::ShimAlive;

}  // namespace

namespace internal {

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

}  // namespace internal

std::string TaskManager::SocketPath(const std::string& ns, const std::string& id,
                                    const std::string& nonce) const {
  // Namespaces and ids may be long; a hash keeps the path within sun_path. The nonce makes
  // each task's socket its own: an old shim on its way out unlinks its path, which must never
  // be the next task's.
  return path::Join(path::Join(config_.state, "s"),
                    Sha256Of(absl::StrCat(ns, "/", id, nonce)).hex().substr(0, 24));
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
}  // namespace berth::tasks
