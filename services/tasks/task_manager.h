// The tasks of one berthd: for each container that has one, its shim connection and the
// directory that holds its bundle. It launches shims, finds them again after a daemon restart
// (from <state>/tasks/<namespace>/<id>/task.json), turns the shims' events into bus events,
// and applies the restart policy and auto-remove of containers that ask for them.
#ifndef BERTH_SERVICES_TASKS_TASK_MANAGER_H_
#define BERTH_SERVICES_TASKS_TASK_MANAGER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "berth/services/containers/v1/containers.pb.h"
#include "berth/services/tasks/v1/tasks.pb.h"
#include "services/events/publisher.h"
#include "services/network/network_manager.h"
#include "services/tasks/shim_connection.h"

namespace berth::tasks {

struct TasksConfig {
  std::string root;        // persistent: logs/<namespace>/<id>/
  std::string state;       // volatile: tasks/<namespace>/<id>/, runtime/<namespace>/
  std::string shim;        // the berth-shim binary; empty when none was found…
  std::string shim_error;  // …and then why
  std::string default_runtime = "berth-runtime";
  std::map<std::string, std::string> runtimes;  // name → binary
  // Log rotation handed to every shim: bytes per file (0: unlimited) and files kept.
  int64_t log_max_size = 0;
  int log_max_files = 1;
  // How long each runtime command a shim runs may take (berth-shim --runtime-timeout).
  absl::Duration runtime_timeout = absl::Seconds(60);
  // Bridge networks for containers that ask for them (label berth.io/network); null: none.
  std::shared_ptr<network::NetworkManager> networks;
  std::string default_network = "bridge";  // what a container's "default" means
};

// Labels a client puts on a container record to have the daemon look after it, as Docker
// does (the berth CLI always sets the first).
inline constexpr char kRestartPolicyLabel[] = "berth.io/restart-policy";
inline constexpr char kManuallyStoppedLabel[] = "berth.io/manually-stopped";
inline constexpr char kRestartCountLabel[] = "berth.io/restart-count";
// Written by the daemon on such containers.
inline constexpr char kExitStatusLabel[] = "berth.io/exit-status";
inline constexpr char kExitedAtLabel[] = "berth.io/exited-at";
inline constexpr char kStartedAtLabel[] = "berth.io/started-at";
inline constexpr char kOomKilledLabel[] = "berth.io/oom-killed";  // "true" after an OOM kill
// Networking, set by the client: "default" (the daemon's default_network), "bridge" (the
// built-in network), "none", "host", or network names separated by commas (the first is eth0); and
// ports to publish, comma-separated, as -p takes them ("[IP:][HOST:]CONTAINER[/PROTO]").
inline constexpr char kNetworkLabel[] = "berth.io/network";
inline constexpr char kPortsLabel[] = "berth.io/ports";
// Written by the daemon while the container runs: "IP:HOST->CONTAINER/PROTO, …".
inline constexpr char kPublishedPortsLabel[] = "berth.io/published-ports";

struct Task {
  std::string ns, id;
  std::string dir;       // bundle and shim state
  std::string socket;    // the shim's (short: <state>/s/<hash>, as sun_path allows 107 bytes)
  std::string log_path;  // the init's log
  bool terminal = false;
  bool stdin_open = false;
  bool rootfs_mounted = false;
  bool managed = false;                  // the container carries kRestartPolicyLabel
  std::vector<std::string> networks;     // networks it has endpoints on, in interface order
  std::shared_ptr<ShimConnection> shim;  // null once the shim is gone
  std::atomic<bool> init_exited{false};
  std::atomic<bool> exit_reported{false};  // the init's exit event arrived from the shim
  // berthd itself stops the shim (Delete, a failed Create, shutdown): its hanging up is no news.
  std::atomic<bool> shim_released{false};
  std::atomic<bool> gone_handled{false};  // ShimGone ran
  absl::Mutex delete_mu;                  // held by Delete
};

// Resolves process.user.username ("app", "1000:staff"…, the CLI's --user or the image's
// USER) against the passwd and group of `rootfs`, as Docker does at start: uid, gid,
// supplementary groups, and HOME when the environment has none. No username: no change.
absl::Status ResolveUser(const std::string& rootfs, nlohmann::json& process);

class TaskManager {
 public:
  using ChannelSource = std::function<std::shared_ptr<grpc::Channel>(const std::string&)>;
  TaskManager(TasksConfig config, ChannelSource channels);
  ~TaskManager();

  // Ends the manager's own threads (restart work, the event subscription). Shims keep running.
  void Stop();

  // Reconnects to the shims of tasks created before this daemon started.
  void Recover();

  absl::StatusOr<std::shared_ptr<Task>> Find(const std::string& ns, const std::string& id);
  std::vector<std::shared_ptr<Task>> List(const std::string& ns);

  absl::StatusOr<uint32_t> Create(const std::string& ns,
                                  const ::berth::services::tasks::v1::CreateTaskRequest& req);
  absl::StatusOr<uint32_t> Start(const std::string& ns, const std::string& id,
                                 const std::string& exec_id);
  absl::StatusOr<::berth::services::tasks::v1::DeleteResponse> Delete(const std::string& ns,
                                                                      const std::string& id);
  // The init's (or an exec'd process's) state; from exit.json when the shim is gone.
  absl::StatusOr<::berth::services::tasks::v1::Process> State(const std::string& ns,
                                                              const std::string& id,
                                                              const std::string& exec_id);
  absl::StatusOr<::berth::services::tasks::v1::WaitResponse> Wait(
      const std::string& ns, const std::string& id, const std::string& exec_id,
      const std::function<bool()>& cancelled);
  // One request to the task's shim; FAILED_PRECONDITION when the shim is gone.
  absl::StatusOr<ShimConnection::Reply> Call(const std::string& ns, const std::string& id,
                                             ::berth::shim::v1::Request req,
                                             const std::function<bool()>& cancelled = nullptr,
                                             absl::Duration timeout = absl::InfiniteDuration(),
                                             ShimConnection::ReplyHook on_reply = nullptr);

  std::string LogPath(const std::string& ns, const std::string& id) const;
  // Puts a running container on one more network (a new interface) at once.
  absl::Status ConnectNetwork(const std::string& ns, const std::string& id,
                              const std::string& network);
  absl::Status DisconnectNetwork(const std::string& ns, const std::string& id,
                                 const std::string& network);
  // An exec's process JSON with process.user.username resolved against the task's rootfs.
  absl::StatusOr<std::string> ResolveExecUser(const std::string& ns, const std::string& id,
                                              const std::string& process_json);
  const events::Publisher& publisher() const { return publisher_; }

 private:
  // Serializes Create and Delete of one container's task (they share its directory).
  absl::Mutex* ContainerLock(const std::string& ns, const std::string& id);
  std::string TaskDir(const std::string& ns, const std::string& id) const;
  std::string SocketPath(const std::string& ns, const std::string& id,
                         const std::string& nonce = "") const;
  absl::StatusOr<std::string> ResolveRuntime(const std::string& name) const;
  absl::Status LaunchShim(const Task& task, const std::string& runtime);
  std::shared_ptr<ShimConnection> Connect(const std::shared_ptr<Task>& task);
  void CleanUp(Task& task);
  // The networks a container record asks for ("default" resolved; "none" and "host" as is).
  std::vector<std::string> NetworksOf(const ::berth::services::containers::v1::Container& c) const;
  // Before the runtime creates the container: endpoints on its networks, and /etc/hosts,
  // /etc/hostname and /etc/resolv.conf bind-mounted into `spec`.
  absl::StatusOr<std::vector<network::Endpoint>> PrepareNetworking(
      Task& task, const ::berth::services::containers::v1::Container& c, nlohmann::json& spec);
  void OnEvent(const std::shared_ptr<Task>& task, const ::berth::shim::v1::Event& event);
  // The shim of `task` is gone without berthd asking (SIGKILL, a crash): end what it left
  // (EndOrphan), then report the exit and treat it as one (a managed container's task is
  // deleted, its rootfs unmounted, its exit recorded). Runs on the worker, never a reader.
  void ShimGone(const std::shared_ptr<Task>& task);
  // For a task whose shim is gone: kills what still runs in the container's cgroup (as
  // `runtime delete --force` would), removes the cgroup and the runtime's state of the
  // container, and writes exit.json with 137 (SIGKILL) unless the shim wrote the real exit.
  // Returns the exit.
  ::berth::services::tasks::v1::WaitResponse EndOrphan(const Task& task);
  // Publishes the init's exit and, for a managed container, does what its exit calls for.
  void ReportExit(const std::shared_ptr<Task>& task,
                  const ::berth::services::tasks::v1::WaitResponse& exit);

  absl::StatusOr<::berth::services::containers::v1::Container> GetContainer(const std::string& ns,
                                                                            const std::string& id);
  void SetLabels(const std::string& ns, const std::string& id,
                 const std::map<std::string, std::string>& labels);
  // What the daemon does when a managed container's init exits: restart it, remove it
  // (auto_remove), or delete the task and keep the exit status on the record.
  // `exited`, when given, is the task whose init exited: nothing is done if the container's
  // task is another one by now.
  void AfterExit(const std::string& ns, const std::string& id, uint32_t status,
                 const std::shared_ptr<Task>& exited = nullptr);

  // Removes the logs of containers as they are deleted (a /containers/delete subscription).
  void ForgetDeletedContainers();

  // Work that must not run on a shim's reader thread (it calls shims and services).
  void Post(std::function<void()> fn, absl::Duration delay = absl::ZeroDuration());
  void WorkLoop();

  struct Work {
    absl::Time at;
    std::function<void()> fn;
  };

  TasksConfig config_;
  ChannelSource channels_;
  events::Publisher publisher_;

  absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Task>> tasks_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, std::unique_ptr<absl::Mutex>> container_locks_
      ABSL_GUARDED_BY(mu_);

  absl::Mutex work_mu_;
  std::vector<Work> work_ ABSL_GUARDED_BY(work_mu_);
  bool stopping_ ABSL_GUARDED_BY(work_mu_) = false;
  std::thread worker_;

  absl::Mutex sub_mu_;
  grpc::ClientContext* subscription_ ABSL_GUARDED_BY(sub_mu_) = nullptr;
  bool sub_stopping_ ABSL_GUARDED_BY(sub_mu_) = false;
  std::thread janitor_;
};

}  // namespace berth::tasks

#endif  // BERTH_SERVICES_TASKS_TASK_MANAGER_H_
