// The container verbs' side of the daemon: records (containers service), their tasks (tasks
// service) and what creating one needs (images, snapshots). Every call goes over the public
// gRPC API, so the verbs work against a remote daemon too. Errors carry messages a person can
// act on ("No such container: web").
#ifndef BERTH_CTL_CONTAINER_API_H_
#define BERTH_CTL_CONTAINER_API_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "ctl/client.h"
#include "ctl/container/format.h"
#include "ctl/container/spec.h"
#include "ctl/volume_api.h"

namespace berth::ctl {

// "true" on a container made with -i: each task keeps stdin open for attach.
inline constexpr char kLabelOpenStdin[] = "berth.io/open-stdin";

// A container as the verbs see it: the record, and its task's init when it has one.
struct ContainerView {
  berth::services::containers::v1::Container record;
  absl::optional<berth::services::tasks::v1::Process> task;
  ContainerState state;
  bool running() const {
    return state.status == ContainerStatus::kRunning || state.status == ContainerStatus::kPaused;
  }
};

class ContainerApi {
 public:
  explicit ContainerApi(Client& client);

  // By id, name or unique id prefix.
  absl::StatusOr<berth::services::containers::v1::Container> Get(const std::string& ref);
  absl::StatusOr<ContainerView> View(const std::string& ref);
  absl::StatusOr<ContainerView> View(berth::services::containers::v1::Container record);
  // Every container of the namespace, newest first.
  absl::StatusOr<std::vector<ContainerView>> List();

  // What `create` needs besides the spec options.
  struct NewContainer {
    std::string image;                // a name the images service knows
    std::string name;                 // empty: a generated adjective_surname
    bool open_stdin = false;          // -i: every task keeps stdin open for attaching
    std::string snapshotter;          // empty: the daemon's default
    std::string runtime;              // empty: berth-runtime
    std::string network = "default";  // --network: default, none, host, or names
    std::vector<std::string> ports;   // -p specs
    bool publish_all = false;         // -P: every port the image EXPOSEs
    VolumeFlags volumes;              // -v, --mount, --volumes-from
  };
  // Makes the record and its snapshot: the spec from the image's config and `options`.
  absl::StatusOr<berth::services::containers::v1::Container> Create(const NewContainer& what,
                                                                    ContainerOptions options);

  // A task for the container on its snapshot (not started). The init has a terminal when the
  // spec says so; stdin is kept open for Attach when `stdin_open`.
  absl::Status CreateTask(const berth::services::containers::v1::Container& c, bool stdin_open);
  absl::StatusOr<uint32_t> Start(const std::string& id, const std::string& exec_id = "");
  absl::Status Kill(const std::string& id, int signal, bool all = false,
                    const std::string& exec_id = "");
  // Deletes a stopped task; NOT_FOUND (ignored by callers that do not care) if there is none.
  absl::Status DeleteTask(const std::string& id);
  // The exit status of the init (or an exec'd process). For a daemon-managed container whose
  // task the daemon has already deleted, the status recorded on the record. `deadline`
  // bounds the wait (DEADLINE_EXCEEDED).
  absl::StatusOr<int> Wait(const std::string& id, const std::string& exec_id = "",
                           absl::Duration deadline = absl::InfiniteDuration());
  absl::Status SetLabels(const std::string& id, const std::map<std::string, std::string>& labels);
  // Stops a running container as `docker stop` does: the stop signal, then SIGKILL after
  // `timeout` (the record's stop timeout, else 10 s, when unset). Marks it stopped by hand,
  // so that its restart policy leaves it alone.
  absl::Status Stop(const ContainerView& c, absl::optional<int> timeout);
  // Removes the record, its task (running ones only with `force`), snapshot and logs.
  absl::Status Remove(const ContainerView& c, bool force);

  Client& client() { return client_; }
  berth::services::tasks::v1::Tasks::Stub& tasks() { return *tasks_; }
  berth::services::containers::v1::Containers::Stub& containers() { return *containers_; }

 private:
  absl::Status Call(const grpc::Status& st);

  Client& client_;
  std::unique_ptr<berth::services::containers::v1::Containers::Stub> containers_;
  std::unique_ptr<berth::services::tasks::v1::Tasks::Stub> tasks_;
};

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_API_H_
