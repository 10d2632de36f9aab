#include "services/build/run_step.h"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"

namespace berth::build {
namespace {

namespace cpb = ::berth::services::containers::v1;
namespace tpb = ::berth::services::tasks::v1;
using nlohmann::json;

json Mount(const char* destination, const char* type, const char* source,
           std::vector<std::string> options) {
  return json{{"destination", destination},
              {"type", type},
              {"source", source},
              {"options", std::move(options)}};
}

// Docker's default capability set (moby oci/caps/defaults.go).
const std::vector<std::string>& Capabilities() {
  static const auto* caps = new std::vector<std::string>{
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return *caps;
}

}  // namespace

const std::vector<std::string>& MountStubs() {
  static const auto* stubs = new std::vector<std::string>{"proc", "dev", "sys"};
  return *stubs;
}

json RunSpec(const RunSpecOptions& o) {
  // Never ask for more open files than this process may have: the runtime refuses.
  uint64_t nofile_hard = 1048576;
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY) {
    nofile_hard = std::min<uint64_t>(nofile_hard, rl.rlim_max);
  }
  json process = {
      {"terminal", false},
      {"user", {{"uid", 0}, {"gid", 0}, {"username", o.user.empty() ? "0" : o.user}}},
      {"args", o.args},
      {"env", o.env},
      {"cwd", o.cwd.empty() ? "/" : o.cwd},
      {"capabilities",
       {{"bounding", Capabilities()},
        {"effective", Capabilities()},
        {"permitted", Capabilities()}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"},
                                {"hard", nofile_hard},
                                {"soft", std::min<uint64_t>(1024, nofile_hard)}}})},
      {"noNewPrivileges", true},
  };
  json mounts = json::array({
      Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
  });
  json linux = {
      {"namespaces", json::array({{{"type", "pid"}},
                                  {{"type", "ipc"}},
                                  {{"type", "uts"}},
                                  {{"type", "mount"}},
                                  // network none: a namespace of its own with only loopback
                                  {{"type", "network"}}})},
      {"cgroupsPath", absl::StrCat("/berth/", o.ns, "/", o.id)},
      {"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
      {"maskedPaths",
       {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  return json{{"ociVersion", "1.0.2"},
              {"process", std::move(process)},
              {"root", {{"path", "rootfs"}, {"readonly", false}}},
              {"hostname", "berth-build"},
              {"mounts", std::move(mounts)},
              {"linux", std::move(linux)}};
}

absl::StatusOr<int> RunContainer(Backend& b, const RunRequest& req) {
  cpb::CreateContainerRequest creq;
  cpb::Container& c = *creq.mutable_container();
  c.set_id(req.id);
  c.set_name(req.id);
  c.set_spec(req.spec.dump());
  c.set_snapshotter(b.snapshotter());
  c.set_snapshot_key(req.snapshot_key);
  c.mutable_runtime()->set_name(req.runtime);
  (*c.mutable_labels())["berth.io/build"] = "true";
  cpb::CreateContainerResponse cresp;
  grpc::Status st = b.containers().Create(b.Context().get(), creq, &cresp);
  if (!st.ok()) return Annotate(FromGrpcStatus(st), "create the RUN container");
  absl::Cleanup drop_record = [&] {
    cpb::DeleteContainerRequest del;
    del.set_id(req.id);
    google::protobuf::Empty e;
    b.containers().Delete(b.Context().get(), del, &e);
  };

  tpb::CreateTaskRequest treq;
  treq.set_container_id(req.id);
  *treq.mutable_rootfs() = req.rootfs;
  tpb::CreateTaskResponse tresp;
  st = b.tasks().Create(b.Context().get(), treq, &tresp);
  if (!st.ok()) return Annotate(FromGrpcStatus(st), "create the RUN task");
  auto kill = [&] {
    tpb::KillRequest k;
    k.set_container_id(req.id);
    k.set_signal(SIGKILL);
    k.set_all(true);
    google::protobuf::Empty e;
    b.tasks().Kill(b.Context().get(), k, &e);
  };
  absl::optional<int> deleted_status;
  auto delete_task = [&]() -> absl::Status {
    tpb::DeleteTaskRequest del;
    del.set_container_id(req.id);
    tpb::DeleteResponse d;
    grpc::Status s;
    for (int i = 0; i < 100; ++i) {
      s = b.tasks().Delete(b.Context().get(), del, &d);
      if (s.ok()) {
        deleted_status = static_cast<int>(d.exit_status());
        return absl::OkStatus();
      }
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) return absl::OkStatus();
      if (s.error_code() != grpc::StatusCode::FAILED_PRECONDITION) break;
      kill();  // still running
      absl::SleepFor(absl::Milliseconds(50));
    }
    return Annotate(FromGrpcStatus(s), "delete the RUN task");
  };
  bool task_deleted = false;
  absl::Cleanup drop_task = [&] {
    if (task_deleted) return;
    kill();
    delete_task().IgnoreError();
  };

  // Attached before Start, so no output is missed.
  auto actx = b.Context();
  auto stream = b.tasks().Attach(actx.get());
  tpb::AttachRequest start;
  start.mutable_start()->set_container_id(req.id);
  start.mutable_start()->set_stdout(true);
  start.mutable_start()->set_stderr(true);
  tpb::AttachResponse msg;
  if (!stream->Write(start) || !stream->Read(&msg) || !msg.has_attached()) {
    stream->WritesDone();
    return Annotate(FromGrpcStatus(stream->Finish()), "attach to the RUN task");
  }
  tpb::StartRequest sreq;
  sreq.set_container_id(req.id);
  tpb::StartResponse sresp;
  st = b.tasks().Start(b.Context().get(), sreq, &sresp);
  if (!st.ok()) {
    actx->TryCancel();
    stream->Finish();
    return Annotate(FromGrpcStatus(st), "start the RUN task");
  }

  // A client that goes away stops the build: the process is killed.
  absl::Notification done;
  std::atomic<bool> was_cancelled{false};
  std::thread watch([&] {
    while (!done.WaitForNotificationWithTimeout(absl::Milliseconds(200))) {
      if (req.cancelled && req.cancelled()) {
        was_cancelled = true;
        kill();
        return;
      }
    }
  });
  absl::optional<int> status;
  while (stream->Read(&msg)) {
    if (msg.has_output() && req.on_output) {
      req.on_output(msg.output().stream() == tpb::STREAM_STDERR ? 2 : 1, msg.output().data());
    } else if (msg.has_exit()) {
      status = static_cast<int>(msg.exit().exit_status());
      break;
    }
  }
  stream->WritesDone();
  stream->Finish();
  done.Notify();
  watch.join();
  if (was_cancelled) return absl::CancelledError("the build was cancelled");
  RETURN_IF_ERROR(delete_task());
  task_deleted = true;
  if (!status.has_value()) status = deleted_status;
  if (!status.has_value()) return absl::InternalError("the RUN task ended without an exit status");
  return *status;
}

}  // namespace berth::build
