// berth-shim: one per container. It holds the container's stdio, writes its log, reaps its
// processes as their subreaper, keeps the exit status on disk, and answers the daemon over a
// SOCK_SEQPACKET socket, one protobuf-lite message per packet (berth.shim.v1). One thread, one
// epoll loop: the listening socket, the clients, a signalfd for SIGCHLD, and the output pipes.
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
  std::string state_dir;  // exit.json, shim.pid, runtime log, pid file
  std::string runtime = "berth-runtime";
  std::string runtime_root = "/run/berth/runtime";
  bool foreground = false;  // do not daemonize (tests, debugging)
};

class Shim {
 public:
  explicit Shim(Options options);
  // Binds the socket; after this returns OK, clients may connect (they wait for the loop).
  absl::Status Listen();
  // Serves until a Shutdown request (or SIGTERM once the task is gone).
  absl::Status Serve();

 private:
  enum class State { kNone, kCreated, kRunning, kStopped };

  void OnClient(int fd);
  void OnSignal();
  void OnOutput(int fd);
  v1::Response Handle(int client, const v1::Request& req, bool* defer);
  void Send(int client, const v1::ShimPacket& packet);
  void Respond(int client, v1::Response resp);
  void Exited(int status);
  void Watch(int fd);
  void Unwatch(int fd);

  v1::Response Create(const v1::CreateRequest& req);
  v1::Response Start();
  v1::Response Kill(const v1::KillRequest& req);
  v1::Response Delete();
  v1::Response StateOf();

  Options opts_;
  RuntimeDriver driver_;
  UniqueFd listen_, epoll_, signal_;
  std::map<int, UniqueFd> clients_;
  std::map<int, UniqueFd> outputs_;  // read ends of stdout/stderr
  std::map<int, std::string> output_stream_;
  UniqueFd stdin_;
  LogWriter log_;

  State state_ = State::kNone;
  std::string bundle_;
  pid_t pid_ = 0;
  uint32_t exit_status_ = 0;
  int64_t exited_at_ = 0;
  std::vector<std::pair<int, uint64_t>> waiters_;  // client fd, request id
  uint64_t event_seq_ = 0;
  bool stop_ = false;
};

}  // namespace berth::shim

#endif  // BERTH_SHIM_SHIM_H_
