// berth.services.tasks.v1.Tasks: the running side of containers, over TaskManager and the
// shims it holds. Attach and Logs are served here from the fds and files the shim provides.
#ifndef BERTH_SERVICES_TASKS_TASKS_SERVICE_H_
#define BERTH_SERVICES_TASKS_TASKS_SERVICE_H_

#include <memory>

#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "services/tasks/task_manager.h"

namespace berth::services {

class TasksService final : public ::berth::services::tasks::v1::Tasks::Service {
 public:
  explicit TasksService(std::shared_ptr<::berth::tasks::TaskManager> tasks)
      : tasks_(std::move(tasks)) {}

#define BERTH_TASKS_RPC(name, req, resp)          \
  grpc::Status name(grpc::ServerContext* context, \
                    const ::berth::services::tasks::v1::req* request, resp* response) override;
  BERTH_TASKS_RPC(Create, CreateTaskRequest, ::berth::services::tasks::v1::CreateTaskResponse)
  BERTH_TASKS_RPC(Start, StartRequest, ::berth::services::tasks::v1::StartResponse)
  BERTH_TASKS_RPC(Delete, DeleteTaskRequest, ::berth::services::tasks::v1::DeleteResponse)
  BERTH_TASKS_RPC(DeleteProcess, DeleteProcessRequest, ::berth::services::tasks::v1::DeleteResponse)
  BERTH_TASKS_RPC(Get, GetRequest, ::berth::services::tasks::v1::GetResponse)
  BERTH_TASKS_RPC(List, ListTasksRequest, ::berth::services::tasks::v1::ListTasksResponse)
  BERTH_TASKS_RPC(Kill, KillRequest, google::protobuf::Empty)
  BERTH_TASKS_RPC(Exec, ExecProcessRequest, google::protobuf::Empty)
  BERTH_TASKS_RPC(ResizePty, ResizePtyRequest, google::protobuf::Empty)
  BERTH_TASKS_RPC(CloseIO, CloseIORequest, google::protobuf::Empty)
  BERTH_TASKS_RPC(Pause, PauseTaskRequest, google::protobuf::Empty)
  BERTH_TASKS_RPC(Resume, ResumeTaskRequest, google::protobuf::Empty)
  BERTH_TASKS_RPC(ListPids, ListPidsRequest, ::berth::services::tasks::v1::ListPidsResponse)
  BERTH_TASKS_RPC(Update, UpdateTaskRequest, google::protobuf::Empty)
  BERTH_TASKS_RPC(Wait, WaitRequest, ::berth::services::tasks::v1::WaitResponse)
  BERTH_TASKS_RPC(Stats, StatsRequest, ::berth::services::tasks::v1::StatsResponse)
#undef BERTH_TASKS_RPC

  grpc::Status Attach(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<::berth::services::tasks::v1::AttachResponse,
                               ::berth::services::tasks::v1::AttachRequest>* stream) override;
  grpc::Status Logs(
      grpc::ServerContext* context, const ::berth::services::tasks::v1::LogsRequest* request,
      grpc::ServerWriter<::berth::services::tasks::v1::LogsResponse>* writer) override;

 private:
  std::shared_ptr<::berth::tasks::TaskManager> tasks_;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_TASKS_TASKS_SERVICE_H_
