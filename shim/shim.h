// berth-shim: one per container. It holds the container's stdio, writes its log, reaps its
// processes as their subreaper, keeps exit statuses on disk, and answers the daemon over a
// SOCK_SEQPACKET socket, one protobuf-lite message per packet (berth.shim.v1). One thread, one
// epoll loop: the listening socket, the clients, a signalfd for SIGCHLD, and the output pipes.
//
// A task has its init (exec_id "") and any number of exec'd processes, each with its own
// stdio, state and exit status.
#ifndef BERTH_SHIM_SHIM_H_
#define BERTH_SHIM_SHIM_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "berth/shim/v1/shim.pb.h"
#include "common/unique_fd.h"
#include "shim/log_writer.h"
#include "shim/runtime_driver.h"

namespace berth::shim {

struct Options {
  std::string id;
  std::string socket;     // where to listen
  std::string state_dir;  // exit files, shim.pid, runtime log, pid files
  std::string runtime = "berth-runtime";
  std::string runtime_root = "/run/berth/runtime";
  bool foreground = false;  // do not daemonize (tests, debugging)
};

class Shim {
 public:
  explicit Shim(Options options);
  // Binds the socket; after this returns OK, clients may connect (they wait for the loop).
  absl::Status Listen();
  // Serves until a Shutdown request (or SIGTERM once no process runs).
  absl::Status Serve();

 private:
  enum class State { kCreated, kRunning, kStopped };
  struct Process {
    std::string exec_id;
    State state = State::kCreated;
    pid_t pid = 0;
    uint32_t exit_status = 0;
    int64_t exited_at = 0;
    std::string spec;  // exec: the OCI process JSON, run at Start
    v1::Stdio stdio;
    std::unique_ptr<LogWriter> log;
    UniqueFd stdin_write;
    std::vector<uint64_t> waiters_ids;
    std::vector<int> waiters_fds;
  };

  void OnClient(int fd);
  void OnSignal();
  void OnOutput(int fd);
  void Send(int client, const v1::ShimPacket& packet);
  void Respond(int client, v1::Response resp);
  void Exited(Process& p, int status);
  void Watch(int fd);
  void Unwatch(int fd);
  bool AnyRunning() const;
  Process* Find(const std::string& exec_id);

  // Pipes for a process's stdio: the child ends go to the runtime, the read ends are watched
  // and logged. Returns the child ends {stdin, stdout, stderr}.
  absl::StatusOr<std::vector<UniqueFd>> Plumb(Process& p);

  v1::Response Handle(int client, const v1::Request& req, bool* defer);
  v1::Response Create(const v1::CreateRequest& req);
  v1::Response Exec(const v1::ExecRequest& req);
  v1::Response Start(const std::string& exec_id);
  v1::Response Kill(const v1::KillRequest& req);
  v1::Response Delete(const std::string& exec_id);
  v1::Response StateOf(const std::string& exec_id);
  v1::Response Wait(int client, uint64_t id, const std::string& exec_id, bool* defer);
  v1::Response CloseIO(const v1::CloseIORequest& req);
  v1::Response Pids();
  v1::Response Stats();
  v1::Response Update(const v1::UpdateRequest& req);

  Options opts_;
  RuntimeDriver driver_;
  UniqueFd listen_, epoll_, signal_;
  std::map<int, UniqueFd> clients_;
  struct Output {
    UniqueFd fd;
    std::string stream;  // "stdout" | "stderr"
    std::string exec_id;
  };
  std::map<int, Output> outputs_;
  std::map<std::string, Process> processes_;  // by exec_id; "" is the init
  std::string bundle_;
  uint64_t event_seq_ = 0;
  bool stop_ = false;
};

}  // namespace berth::shim

#endif  // BERTH_SHIM_SHIM_H_
