// berth-shim: one per container. It holds the container's stdio, writes its log, reaps its
// processes as their subreaper, keeps exit statuses on disk, and answers the daemon over a
// SOCK_SEQPACKET socket, one protobuf-lite message per packet (berth.shim.v1). One thread, one
// epoll loop: the listening socket, the clients, a signalfd for SIGCHLD, the output pipes, and
// the published ports' forwarder (ports.h).
//
// A task has its init (exec_id "") and any number of exec'd processes, each with its own
// stdio (pipes, or a pty whose master the runtime sends over a console socket), state, exit
// status and attachments (Attach: pipes whose other ends the daemon holds).
#ifndef BERTH_SHIM_SHIM_H_
#define BERTH_SHIM_SHIM_H_

#include <sys/ioctl.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "berth/shim/v1/shim.pb.h"
#include "common/unique_fd.h"
#include "shim/console.h"
#include "shim/log_writer.h"
#include "shim/oom.h"
#include "shim/ports.h"
#include "shim/runtime_driver.h"

namespace berth::shim {

struct Options {
  std::string id;
  std::string socket;     // where to listen
  std::string state_dir;  // exit files, shim.pid, runtime log, pid files
  std::string runtime = "berth-runtime";
  std::string runtime_root = "/run/berth/runtime";
  bool foreground = false;  // do not daemonize (tests, debugging)
  LogLimits log_limits;     // --log-max-size, --log-max-files
  // How long each runtime command may take (--runtime-timeout).
  absl::Duration runtime_timeout = kDefaultRuntimeTimeout;
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
  struct Output;
  struct Process {
    std::string exec_id;
    // Tells this process from an earlier one with the same exec id (deleted, and exec'd
    // again) whose output pipe something in the container may still hold.
    uint64_t serial = 0;
    State state = State::kCreated;
    pid_t pid = 0;
    uint32_t exit_status = 0;
    int64_t exited_at = 0;
    std::string spec;  // exec: the OCI process JSON, run at Start
    v1::Stdio stdio;
    bool terminal = false;
    std::unique_ptr<LogWriter> log;
    UniqueFd stdin_write;
    // Terminal processes: the pty master (their stdin, their output, and what ResizePty sets),
    // and the size asked for before it existed.
    UniqueFd pty;
    absl::optional<winsize> size;
    // Attach: write ends of pipes that get the output of stdout [0] and stderr [1] ...
    std::vector<UniqueFd> attached[2];
    // ... until that stream reaches EOF. A terminal process has no stderr: done from the start.
    bool output_done[2] = {false, false};
    // Bytes from stdin attachments (and CloseIO's EOT) not yet taken by the process.
    std::string stdin_pending;
    bool close_stdin_when_flushed = false;  // CloseIO came while stdin_pending was not empty
    bool stdin_closed = false;
    std::vector<uint64_t> waiters_ids;
    std::vector<int> waiters_fds;
  };

  void OnClient(int fd);
  void OnSignal();
  // Reads what a process wrote; without `drain`, a bounded amount so other work is not starved.
  void OnOutput(int fd, bool drain = false);
  void OnStdinAttach(int fd);
  void OnOom();
  // Copies output to the stream's attachments, dropping any that cannot take it at once.
  void FanOut(Process& p, int stream, absl::string_view data);
  // The stream reached EOF: its attachments see EOF too.
  void OutputDone(Process& p, int stream);
  // Writes stdin_pending to the process's stdin without blocking; waits for EPOLLOUT and
  // pauses the stdin attachments while too much is queued.
  void PumpStdin(Process& p);
  void DrainStdinAttachments(const std::string& exec_id);
  void EndStdinAttachments(const std::string& exec_id);
  void PauseStdinAttachments(const std::string& exec_id, bool paused);
  void CloseStdin(Process& p);
  // Receives the pty master from the runtime and starts watching it.
  absl::Status ReceivePty(ConsoleSocket& console, Process& p);
  absl::Status AdoptPty(Process& p, UniqueFd master);
  // Start of an exec'd process: its process JSON, stdio, `runtime exec --detach`.
  absl::Status StartExec(Process& p);
  // Removes a process and everything of it the loop watches.
  void Forget(const std::string& exec_id);
  void Send(int client, const v1::ShimPacket& packet, const std::vector<UniqueFd>& fds = {});
  void Respond(int client, v1::Response resp, const std::vector<UniqueFd>& fds = {});
  void Publish(v1::ShimPacket event);
  void Exited(Process& p, int status);
  void Watch(int fd, uint32_t events = 0x001 /* EPOLLIN */);
  void Modify(int fd, uint32_t events);
  void Unwatch(int fd);
  bool AnyRunning() const;
  // Published ports close with the init: they are free again once it has exited.
  void ClosePorts();
  Process* Find(const std::string& exec_id);
  // The process an output belongs to, if it still exists.
  Process* Owner(const Output& out);
  std::string Name(const std::string& exec_id) const;

  // A process's stdio: pipes (the child ends go to the runtime, the read ends are watched and
  // logged), or for a terminal process only the log; the pty comes from the runtime. Returns
  // the child ends {stdin, stdout, stderr}.
  absl::StatusOr<std::vector<UniqueFd>> Plumb(Process& p);

  v1::Response Handle(int client, const v1::Request& req, bool* defer, std::vector<UniqueFd>* fds);
  v1::Response Create(const v1::CreateRequest& req);
  v1::Response Exec(const v1::ExecRequest& req);
  v1::Response Start(const std::string& exec_id);
  v1::Response Kill(const v1::KillRequest& req);
  v1::Response Delete(const std::string& exec_id);
  v1::Response StateOf(const std::string& exec_id);
  v1::Response Wait(int client, uint64_t id, const std::string& exec_id, bool* defer);
  v1::Response CloseIO(const v1::CloseIORequest& req);
  v1::Response Attach(const v1::AttachRequest& req, std::vector<UniqueFd>* fds);
  v1::Response ResizePty(const v1::ResizePtyRequest& req);
  v1::Response Pids();
  v1::Response Stats();
  v1::Response Update(const v1::UpdateRequest& req);

  Options opts_;
  RuntimeDriver driver_;
  UniqueFd listen_, epoll_, signal_;
  std::map<int, UniqueFd> clients_;
  struct Output {
    UniqueFd fd;     // a pipe's read end, or a dup of the pty master
    int stream = 0;  // 0 stdout, 1 stderr
    std::string exec_id;
    uint64_t serial = 0;  // of the process it belongs to
  };
  std::map<int, Output> outputs_;
  // Read ends of stdin attachments, by fd; their bytes go to the process's stdin.
  struct StdinAttachment {
    UniqueFd fd;
    std::string exec_id;
    bool paused = false;
  };
  std::map<int, StdinAttachment> stdin_attached_;
  // Stdin targets (stdin pipe or pty master) watched for EPOLLOUT, by fd → exec id.
  std::map<int, std::string> stdin_blocked_;
  OomWatcher oom_;
  PortForwarder ports_;
  std::map<std::string, Process> processes_;  // by exec_id; "" is the init
  std::string bundle_;
  uint64_t event_seq_ = 0;
  uint64_t process_serial_ = 0;
  bool stop_ = false;
  bool paused_ = false;  // the task's cgroup is frozen (Pause until Resume)
};

}  // namespace berth::shim

#endif  // BERTH_SHIM_SHIM_H_
