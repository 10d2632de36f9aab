// TaskManager after a task's init or its shim ends: exit and OOM events, the restart policy and
// auto-remove (AfterExit), a dead shim (ShimGone, EndOrphan); the worker that runs that work,
// and the removal of deleted containers' logs.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "berth/events/v1/events.pb.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/events/v1/events.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "common/path.h"
#include "common/syscall.h"
#include "services/common/proto_time.h"
#include "services/tasks/anonymous_volumes.h"
#include "services/tasks/task_manager.h"
#include "services/tasks/task_manager_internal.h"
#include "snapshotter/storage/fsutil.h"
#include "spdlog/spdlog.h"

namespace berth::tasks {
namespace {

namespace spb = ::berth::services::snapshots::v1;
using internal::CallContext;
using internal::ExitFile;
using internal::FromNanos;
using internal::ShimAlive;

// A restarting container waits 100 ms, doubling per restart, at most a minute (as Docker).
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Minutes(1);
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
}  // namespace

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
