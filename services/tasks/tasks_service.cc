#include "services/tasks/tasks_service.h"

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "berth/events/v1/events.pb.h"
#include "common/filter.h"
#include "common/grpc_status.h"
#include "services/common/proto_time.h"
#include "services/common/request_metadata.h"
#include "services/tasks/log_reader.h"

namespace berth::services {
namespace {

namespace pb = ::berth::services::tasks::v1;
namespace v1 = ::berth::shim::v1;
namespace epb = ::berth::events::v1;
using ::berth::tasks::ShimConnection;

// How long a quiet stream waits before it looks again whether its client is still there.
constexpr int kPollMillis = 200;
// After the exit message, how long Attach waits for the client to close its side.
constexpr absl::Duration kCloseGrace = absl::Seconds(10);

grpc::Status Err(const absl::Status& st) { return ToGrpcStatus(st); }

absl::Status NeedId(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("container_id is required");
  return absl::OkStatus();
}

// An exec id names files in the task's state directory (process-<id>.json, exec-<id>.pid,
// log-<id>.json): 1..76 letters and digits with single '.', '_' or '-' between them, as
// containerd's identifiers, so no "..", no separator and no NUL that would cut a path short.
absl::Status ValidateExecId(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("exec_id is required");
  bool ok = id.size() <= 76;
  bool prev_sep = true;  // a separator may not start it
  for (char c : id) {
    const bool sep = c == '.' || c == '_' || c == '-';
    ok &= sep ? !prev_sep : absl::ascii_isalnum(static_cast<unsigned char>(c));
    prev_sep = sep;
  }
  if (ok && !prev_sep) return absl::OkStatus();
  std::string shown;
  for (char c : id.substr(0, 80)) shown += absl::ascii_isprint(c) ? std::string(1, c) : "?";
  return absl::InvalidArgumentError(
      absl::StrCat("invalid exec_id \"", shown,
                   "\": use 1 to 76 letters and digits, with single '.', '_' or '-' between them"));
}

// Runs one shim request for the request's namespace and container.
absl::StatusOr<ShimConnection::Reply> ShimCall(::berth::tasks::TaskManager& tasks,
                                               grpc::ServerContext* context, const std::string& id,
                                               v1::Request req) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ns.status();
  if (absl::Status st = NeedId(id); !st.ok()) return st;
  return tasks.Call(*ns, id, std::move(req), [context] { return context->IsCancelled(); });
}

bool WriteAll(int fd, const std::string& data, const std::atomic<bool>& stop) {
  size_t done = 0;
  while (done < data.size()) {
    pollfd p{fd, POLLOUT, 0};
    const int r = ::poll(&p, 1, kPollMillis);
    if (stop) return false;
    if (r <= 0) continue;
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

grpc::Status TasksService::Create(grpc::ServerContext* context,
                                  const pb::CreateTaskRequest* request,
                                  pb::CreateTaskResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return Err(ns.status());
  if (absl::Status st = NeedId(request->container_id()); !st.ok()) return Err(st);
  absl::StatusOr<uint32_t> pid = tasks_->Create(*ns, *request);
  if (!pid.ok()) return Err(pid.status());
  response->set_container_id(request->container_id());
  response->set_pid(*pid);
  return grpc::Status::OK;
}

grpc::Status TasksService::Start(grpc::ServerContext* context, const pb::StartRequest* request,
                                 pb::StartResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return Err(ns.status());
  if (absl::Status st = NeedId(request->container_id()); !st.ok()) return Err(st);
  absl::StatusOr<uint32_t> pid = tasks_->Start(*ns, request->container_id(), request->exec_id());
  if (!pid.ok()) return Err(pid.status());
  response->set_pid(*pid);
  return grpc::Status::OK;
}

grpc::Status TasksService::Delete(grpc::ServerContext* context,
                                  const pb::DeleteTaskRequest* request,
                                  pb::DeleteResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return Err(ns.status());
  if (absl::Status st = NeedId(request->container_id()); !st.ok()) return Err(st);
  absl::StatusOr<pb::DeleteResponse> r = tasks_->Delete(*ns, request->container_id());
  if (!r.ok()) return Err(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status TasksService::DeleteProcess(grpc::ServerContext* context,
                                         const pb::DeleteProcessRequest* request,
                                         pb::DeleteResponse* response) {
  if (request->exec_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "exec_id is required; delete the init process with Delete");
  }
  v1::Request req;
  req.mutable_delete_()->set_exec_id(request->exec_id());
  absl::StatusOr<ShimConnection::Reply> r =
      ShimCall(*tasks_, context, request->container_id(), std::move(req));
  if (!r.ok()) return Err(r.status());
  response->set_container_id(request->container_id());
  response->set_exec_id(request->exec_id());
  response->set_pid(r->response.delete_().pid());
  response->set_exit_status(r->response.delete_().exit_status());
  ToProto(absl::FromUnixNanos(r->response.delete_().exited_at_unix_nano()),
          response->mutable_exited_at());
  return grpc::Status::OK;
}

grpc::Status TasksService::Get(grpc::ServerContext* context, const pb::GetRequest* request,
                               pb::GetResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return Err(ns.status());
  if (absl::Status st = NeedId(request->container_id()); !st.ok()) return Err(st);
  absl::StatusOr<pb::Process> p = tasks_->State(*ns, request->container_id(), request->exec_id());
  if (!p.ok()) return Err(p.status());
  *response->mutable_process() = *std::move(p);
  return grpc::Status::OK;
}

grpc::Status TasksService::List(grpc::ServerContext* context, const pb::ListTasksRequest* request,
                                pb::ListTasksResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return Err(ns.status());
  absl::StatusOr<Filter> filter =
      Filter::Parse({request->filters().begin(), request->filters().end()});
  if (!filter.ok()) return Err(filter.status());
  for (const std::shared_ptr<::berth::tasks::Task>& t : tasks_->List(*ns)) {
    absl::StatusOr<pb::Process> p = tasks_->State(*ns, t->id, "");
    if (!p.ok()) continue;  // deleted meanwhile
    const bool match =
        filter->Match([&](const std::vector<std::string>& f) -> absl::optional<std::string> {
          if (f.size() != 1) return absl::nullopt;
          if (f[0] == "container_id" || f[0] == "id") return p->container_id();
          if (f[0] == "status") return absl::AsciiStrToLower(pb::Status_Name(p->status()));
          if (f[0] == "pid") return absl::StrCat(p->pid());
          return absl::nullopt;
        });
    if (match) *response->add_tasks() = *std::move(p);
  }
  return grpc::Status::OK;
}

grpc::Status TasksService::Kill(grpc::ServerContext* context, const pb::KillRequest* request,
                                google::protobuf::Empty*) {
  if (request->signal() == 0 || request->signal() > 64) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("invalid signal ", request->signal(), " (1–64)"));
  }
  v1::Request req;
  req.mutable_kill()->set_exec_id(request->exec_id());
  req.mutable_kill()->set_signal(request->signal());
  req.mutable_kill()->set_all(request->all());
  return Err(ShimCall(*tasks_, context, request->container_id(), std::move(req)).status());
}

grpc::Status TasksService::Exec(grpc::ServerContext* context, const pb::ExecProcessRequest* request,
                                google::protobuf::Empty*) {
  if (absl::Status st = ValidateExecId(request->exec_id()); !st.ok()) return Err(st);
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return Err(ns.status());
  absl::StatusOr<std::string> process =
      tasks_->ResolveExecUser(*ns, request->container_id(), request->spec());
  if (!process.ok()) return Err(process.status());
  v1::Request req;
  v1::ExecRequest* e = req.mutable_exec();
  e->set_exec_id(request->exec_id());
  e->set_process(*process);
  e->set_terminal(request->stdio().terminal());
  e->mutable_stdio()->set_stdin_open(request->stdio().stdin_open());
  e->mutable_stdio()->set_log_path(request->stdio().log_path());
  e->mutable_stdio()->set_stdin_path(request->stdio().stdin());
  e->mutable_stdio()->set_stdout_path(request->stdio().stdout());
  e->mutable_stdio()->set_stderr_path(request->stdio().stderr());
  absl::Status st = ShimCall(*tasks_, context, request->container_id(), std::move(req)).status();
  if (!st.ok()) return Err(st);
  epb::TaskExecAdded ev;
  ev.set_container_id(request->container_id());
  ev.set_exec_id(request->exec_id());
  tasks_->publisher().Publish(*ns, "/tasks/exec-added", ev);
  return grpc::Status::OK;
}

grpc::Status TasksService::ResizePty(grpc::ServerContext* context,
                                     const pb::ResizePtyRequest* request,
                                     google::protobuf::Empty*) {
  if (request->width() == 0 || request->height() == 0 || request->width() > 65535 ||
      request->height() > 65535) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("invalid terminal size ", request->width(), "x",
                                     request->height(), " (1–65535 each)"));
  }
  v1::Request req;
  req.mutable_resize_pty()->set_exec_id(request->exec_id());
  req.mutable_resize_pty()->set_width(request->width());
  req.mutable_resize_pty()->set_height(request->height());
  return Err(ShimCall(*tasks_, context, request->container_id(), std::move(req)).status());
}

grpc::Status TasksService::CloseIO(grpc::ServerContext* context, const pb::CloseIORequest* request,
                                   google::protobuf::Empty*) {
  v1::Request req;
  req.mutable_close_io()->set_exec_id(request->exec_id());
  req.mutable_close_io()->set_stdin(request->stdin());
  return Err(ShimCall(*tasks_, context, request->container_id(), std::move(req)).status());
}

grpc::Status TasksService::Pause(grpc::ServerContext* context, const pb::PauseTaskRequest* request,
                                 google::protobuf::Empty*) {
  v1::Request req;
  req.mutable_pause();
  absl::Status st = ShimCall(*tasks_, context, request->container_id(), std::move(req)).status();
  if (!st.ok()) return Err(st);
  epb::TaskPaused ev;
  ev.set_container_id(request->container_id());
  tasks_->publisher().Publish(RequestNamespace(*context).value_or(""), "/tasks/paused", ev);
  return grpc::Status::OK;
}

grpc::Status TasksService::Resume(grpc::ServerContext* context,
                                  const pb::ResumeTaskRequest* request, google::protobuf::Empty*) {
  v1::Request req;
  req.mutable_resume();
  absl::Status st = ShimCall(*tasks_, context, request->container_id(), std::move(req)).status();
  if (!st.ok()) return Err(st);
  epb::TaskResumed ev;
  ev.set_container_id(request->container_id());
  tasks_->publisher().Publish(RequestNamespace(*context).value_or(""), "/tasks/resumed", ev);
  return grpc::Status::OK;
}

grpc::Status TasksService::ListPids(grpc::ServerContext* context,
                                    const pb::ListPidsRequest* request,
                                    pb::ListPidsResponse* response) {
  v1::Request req;
  req.mutable_pids();
  absl::StatusOr<ShimConnection::Reply> r =
      ShimCall(*tasks_, context, request->container_id(), std::move(req));
  if (!r.ok()) return Err(r.status());
  for (const v1::ProcessInfo& p : r->response.pids().processes()) {
    pb::ProcessInfo* out = response->add_processes();
    out->set_pid(p.pid());
    out->set_exec_id(p.exec_id());
  }
  return grpc::Status::OK;
}

grpc::Status TasksService::Update(grpc::ServerContext* context,
                                  const pb::UpdateTaskRequest* request, google::protobuf::Empty*) {
  if (!request->annotations().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "annotations cannot change on a running task; update the container "
                        "record's spec and start a new task");
  }
  if (request->resources().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "resources is required: the OCI linux.resources object as JSON");
  }
  v1::Request req;
  req.mutable_update()->set_resources(request->resources());
  return Err(ShimCall(*tasks_, context, request->container_id(), std::move(req)).status());
}

grpc::Status TasksService::Wait(grpc::ServerContext* context, const pb::WaitRequest* request,
                                pb::WaitResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return Err(ns.status());
  if (absl::Status st = NeedId(request->container_id()); !st.ok()) return Err(st);
  absl::StatusOr<pb::WaitResponse> w =
      tasks_->Wait(*ns, request->container_id(), request->exec_id(),
                   [context] { return context->IsCancelled(); });
  if (!w.ok()) return Err(w.status());
  *response = *std::move(w);
  return grpc::Status::OK;
}

grpc::Status TasksService::Stats(grpc::ServerContext* context, const pb::StatsRequest* request,
                                 pb::StatsResponse* response) {
  v1::Request req;
  req.mutable_stats();
  absl::StatusOr<ShimConnection::Reply> r =
      ShimCall(*tasks_, context, request->container_id(), std::move(req));
  if (!r.ok()) return Err(r.status());
  const v1::StatsResponse& s = r->response.stats();
  ToProto(s.timestamp_unix_nano() != 0 ? absl::FromUnixNanos(s.timestamp_unix_nano()) : absl::Now(),
          response->mutable_timestamp());
  pb::CpuStats* cpu = response->mutable_cpu();
  cpu->set_usage_usec(s.cpu_usage_usec());
  cpu->set_user_usec(s.cpu_user_usec());
  cpu->set_system_usec(s.cpu_system_usec());
  cpu->set_nr_periods(s.cpu_nr_periods());
  cpu->set_nr_throttled(s.cpu_nr_throttled());
  cpu->set_throttled_usec(s.cpu_throttled_usec());
  pb::MemoryStats* mem = response->mutable_memory();
  mem->set_usage(s.memory_current());
  mem->set_limit(s.memory_max());
  mem->set_swap_usage(s.memory_swap_current());
  mem->set_swap_limit(s.memory_swap_max());
  mem->set_anon(s.memory_anon());
  mem->set_file(s.memory_file());
  mem->set_kernel(s.memory_kernel());
  mem->set_oom(s.memory_oom());
  mem->set_oom_kill(s.memory_oom_kill());
  response->mutable_pids()->set_current(s.pids_current());
  response->mutable_pids()->set_limit(s.pids_max());
  pb::IoStats* io = response->mutable_io();
  io->set_read_bytes(s.io_read_bytes());
  io->set_write_bytes(s.io_write_bytes());
  io->set_read_ios(s.io_read_ios());
  io->set_write_ios(s.io_write_ios());
  return grpc::Status::OK;
}

grpc::Status TasksService::Attach(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<pb::AttachResponse, pb::AttachRequest>* stream) {
  pb::AttachRequest first;
  if (!stream->Read(&first)) return grpc::Status::OK;  // gone before asking for anything
  if (!first.has_start()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first Attach message must be `start`");
  }
  const pb::AttachRequest::Start& start = first.start();
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return Err(ns.status());
  if (absl::Status st = NeedId(start.container_id()); !st.ok()) return Err(st);
  const std::string id = start.container_id(), exec_id = start.exec_id();

  v1::Request req;
  req.mutable_attach()->set_exec_id(exec_id);
  req.mutable_attach()->set_stdin(start.stdin());
  req.mutable_attach()->set_stdout(start.stdout());
  req.mutable_attach()->set_stderr(start.stderr());
  absl::StatusOr<ShimConnection::Reply> r = tasks_->Call(*ns, id, std::move(req));
  if (!r.ok()) return Err(r.status());
  if (r->fds.size() != static_cast<size_t>(r->response.attach().fds_size())) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "the shim's attach answer and the fds it passed do not match");
  }
  UniqueFd input;
  struct Output {
    UniqueFd fd;
    pb::Stream stream;
  };
  std::vector<Output> outputs;
  for (size_t i = 0; i < r->fds.size(); ++i) {
    switch (r->response.attach().fds(static_cast<int>(i))) {
      case v1::FD_ROLE_STDIN:
        input = std::move(r->fds[i]);
        break;
      case v1::FD_ROLE_STDOUT:
        outputs.push_back({std::move(r->fds[i]), pb::STREAM_STDOUT});
        break;
      case v1::FD_ROLE_STDERR:
        outputs.push_back({std::move(r->fds[i]), pb::STREAM_STDERR});
        break;
      default:
        break;
    }
  }

  // Past this point the client is connected: no output it asked for can be missed.
  pb::AttachResponse attached;
  attached.mutable_attached();
  if (!stream->Write(attached)) return grpc::Status::OK;

  // The exit status is asked for now, while the task surely exists: a daemon-managed
  // container's task may be deleted the moment its process exits, before the output drains.
  absl::StatusOr<pb::WaitResponse> waited = absl::UnknownError("not waited");
  std::thread waiter([&] {
    waited = tasks_->Wait(*ns, id, exec_id, [context] { return context->IsCancelled(); });
  });

  // The client's side: stdin, resizes and close_stdin, on a thread of its own.
  std::atomic<bool> stop{false}, client_done{false};
  std::thread from_client([&] {
    pb::AttachRequest m;
    while (!stop && stream->Read(&m)) {
      if (m.has_stdin() && input.valid()) {
        if (!WriteAll(input.get(), m.stdin(), stop)) input.Reset();
      } else if (m.has_resize()) {
        v1::Request resize;
        resize.mutable_resize_pty()->set_exec_id(exec_id);
        resize.mutable_resize_pty()->set_width(m.resize().width());
        resize.mutable_resize_pty()->set_height(m.resize().height());
        tasks_->Call(*ns, id, std::move(resize)).IgnoreError();
      } else if (m.has_close_stdin()) {
        input.Reset();
        v1::Request close;
        close.mutable_close_io()->set_exec_id(exec_id);
        close.mutable_close_io()->set_stdin(true);
        tasks_->Call(*ns, id, std::move(close)).IgnoreError();
      }
    }
    client_done = true;
  });

  // The process's side: output until every stream it asked for has ended.
  char buf[32768];
  while (!outputs.empty() && !context->IsCancelled()) {
    std::vector<pollfd> fds;
    for (const Output& o : outputs) fds.push_back({o.fd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), kPollMillis) <= 0) continue;
    for (size_t i = fds.size(); i-- > 0;) {
      if (fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        outputs.erase(outputs.begin() + static_cast<long>(i));
        continue;
      }
      pb::AttachResponse out;
      out.mutable_output()->set_stream(outputs[i].stream);
      out.mutable_output()->set_data(buf, static_cast<size_t>(n));
      if (!stream->Write(out)) context->TryCancel();
    }
  }
  // Output has ended: the process has exited (or the client left). Tell it how it ended.
  if (!context->IsCancelled()) {
    waiter.join();
    if (waited.ok()) {
      pb::AttachResponse exit;
      exit.mutable_exit()->set_exit_status(waited->exit_status());
      *exit.mutable_exit()->mutable_exited_at() = waited->exited_at();
      stream->Write(exit);
    }
    // The client closes its side when it has read the exit; one that does not is cut off.
    const absl::Time deadline = absl::Now() + kCloseGrace;
    while (!client_done && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  }
  stop = true;
  if (!client_done) context->TryCancel();
  from_client.join();
  if (waiter.joinable()) waiter.join();  // cancelled: it returns within its poll interval
  return grpc::Status::OK;
}

grpc::Status TasksService::Logs(grpc::ServerContext* context, const pb::LogsRequest* request,
                                grpc::ServerWriter<pb::LogsResponse>* writer) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return Err(ns.status());
  const std::string& id = request->container_id();
  if (absl::Status st = NeedId(id); !st.ok()) return Err(st);
  absl::StatusOr<std::shared_ptr<::berth::tasks::Task>> task = tasks_->Find(*ns, id);
  const std::string path = task.ok() ? (*task)->log_path : tasks_->LogPath(*ns, id);
  if (!task.ok() && ::berth::tasks::LogFiles(path).empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("container ", id,
                                     " has no logs (it never ran, or it was "
                                     "removed)"));
  }
  ::berth::tasks::LogQuery q;
  if (request->has_since()) q.since = FromProto(request->since());
  if (request->has_until()) q.until = FromProto(request->until());
  q.tail = request->tail();
  if (request->stdout() || request->stderr()) {
    q.want_stdout = request->stdout();
    q.want_stderr = request->stderr();
  }
  auto send = [&](std::vector<::berth::tasks::LogLine>&& lines) {
    pb::LogsResponse resp;
    for (const ::berth::tasks::LogLine& l : lines) {
      if (!q.Wants(l)) continue;
      pb::LogRecord* rec = resp.add_records();
      rec->set_stream(l.stderr_stream ? pb::STREAM_STDERR : pb::STREAM_STDOUT);
      ToProto(l.time, rec->mutable_timestamp());
      rec->set_data(l.data);
      rec->set_partial(l.partial);
    }
    return resp.records_size() == 0 || writer->Write(resp);
  };
  const ::berth::tasks::LogPosition end = ::berth::tasks::ReadLog(path, q, send);
  if (!request->follow()) return grpc::Status::OK;
  ::berth::tasks::LogFollower follower(path, end);
  for (;;) {
    // Looked at before reading, so that the last lines an exit leaves are still sent.
    task = tasks_->Find(*ns, id);
    const bool over = !task.ok() || (*task)->init_exited;
    if (!send(follower.Poll()) || context->IsCancelled()) break;
    if (over) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return grpc::Status::OK;
}

}  // namespace berth::services
