// What the files of TaskManager (task_manager, task_exit, task_network, task_shim) share.
#ifndef BERTH_SERVICES_TASKS_TASK_MANAGER_INTERNAL_H_
#define BERTH_SERVICES_TASKS_TASK_MANAGER_INTERNAL_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "berth/events/v1/events.pb.h"
#include "berth/services/containers/v1/containers.pb.h"
#include "berth/services/tasks/v1/tasks.pb.h"
#include "services/tasks/shim_connection.h"

namespace berth::tasks {

// The protocols the files of TaskManager speak, by short names (this header is theirs alone).
namespace tpb = ::berth::services::tasks::v1;
namespace cpb = ::berth::services::containers::v1;
namespace epb = ::berth::events::v1;
namespace v1 = ::berth::shim::v1;

namespace internal {

inline constexpr char kTaskFile[] = "task.json";

// A client context for a call to another service, in namespace `ns`, with a deadline.
std::unique_ptr<grpc::ClientContext> CallContext(const std::string& ns);

absl::Time FromNanos(int64_t nanos);

// The exit recorded by the shim before it told anyone (exit.json), for a shim that is gone.
absl::optional<tpb::WaitResponse> ExitFile(const std::string& file);

// Whether the shim whose pid a task directory records still runs (a zombie does not).
bool ShimAlive(const std::string& task_dir);

}  // namespace internal
}  // namespace berth::tasks

#endif  // BERTH_SERVICES_TASKS_TASK_MANAGER_INTERNAL_H_
