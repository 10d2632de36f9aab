// The daemon's side of the shim protocol (berth.shim.v1, docs/shim.md): one SOCK_SEQPACKET
// connection to one berth-shim, shared by every RPC about that task. Calls are matched to
// responses by id, so many may be in flight at once (a Wait may last for days); a reader
// thread receives responses, the fds attached to them, and the shim's unsolicited events.
#ifndef BERTH_SERVICES_TASKS_SHIM_CONNECTION_H_
#define BERTH_SERVICES_TASKS_SHIM_CONNECTION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "berth/shim/v1/shim.pb.h"
#include "common/unique_fd.h"

namespace berth::tasks {

class ShimConnection {
 public:
  // Called on the reader thread; it must not call back into this connection synchronously.
  using EventHandler = std::function<void(const ::berth::shim::v1::Event&)>;
  // Called once, on the reader thread, when the shim hangs up (it exited or was killed).
  using CloseHandler = std::function<void()>;

  // Connects and performs the Connect handshake (protocol version 1).
  static absl::StatusOr<std::shared_ptr<ShimConnection>> Dial(const std::string& socket,
                                                              EventHandler on_event,
                                                              CloseHandler on_close);
  ~ShimConnection();
  ShimConnection(const ShimConnection&) = delete;
  ShimConnection& operator=(const ShimConnection&) = delete;

  struct Reply {
    ::berth::shim::v1::Response response;
    std::vector<UniqueFd> fds;  // passed with the response (Attach)
  };
  // Sends `request` and waits for its response. A non-OK code from the shim is returned as
  // that status. `cancelled` is polled while waiting: when it says so, CANCELLED is returned
  // (the shim may still answer; the answer is dropped). UNAVAILABLE when the shim is gone.
  // `on_reply` runs on the reader thread when a successful answer arrives, before any later
  // packet is looked at: what it does is ordered with the events that follow the answer.
  using ReplyHook = std::function<void(const ::berth::shim::v1::Response&)>;
  absl::StatusOr<Reply> Call(::berth::shim::v1::Request request,
                             const std::function<bool()>& cancelled = nullptr,
                             absl::Duration timeout = absl::InfiniteDuration(),
                             ReplyHook on_reply = nullptr);

  const ::berth::shim::v1::ConnectResponse& hello() const { return hello_; }
  bool closed() const;
  // Hangs up and joins the reader; pending calls fail with UNAVAILABLE.
  void Close();

 private:
  ShimConnection(UniqueFd fd, std::string socket)
      : fd_(std::move(fd)), socket_(std::move(socket)) {}
  void ReadLoop();

  struct Pending {
    ReplyHook on_reply;
    bool done = false;
    absl::Status error;
    Reply reply;
  };

  UniqueFd fd_;
  const std::string socket_;
  EventHandler on_event_;
  CloseHandler on_close_;
  ::berth::shim::v1::ConnectResponse hello_;
  std::thread reader_;

  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::map<uint64_t, std::shared_ptr<Pending>> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::tasks

#endif  // BERTH_SERVICES_TASKS_SHIM_CONNECTION_H_
