// The receiving end of an OCI runtime's --console-socket: a unix SOCK_STREAM socket the runtime
// connects to and sends the pty master over, as one SCM_RIGHTS fd (berth-runtime and runc both
// send exactly one, with the slave's name as the payload).
#ifndef BERTH_SHIM_CONSOLE_H_
#define BERTH_SHIM_CONSOLE_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace berth::shim {

class ConsoleSocket {
 public:
  // Listens on <dir>/console.sock. When that path does not fit in sun_path (107 bytes), the
  // socket is bound and named through /proc/<shim pid>/fd/<dir fd>/ instead, which always fits.
  static absl::StatusOr<ConsoleSocket> Listen(const std::string& dir);

  ConsoleSocket(ConsoleSocket&& other) noexcept;
  ConsoleSocket& operator=(ConsoleSocket&&) = delete;
  ~ConsoleSocket();

  // The path to give the runtime as --console-socket.
  const std::string& path() const { return path_; }
  // Accepts the runtime's connection and receives the master (O_NONBLOCK, close-on-exec).
  // Call after the runtime returned: it sent the fd before it exited, so this waits only
  // `timeout_ms` in case it did not.
  absl::StatusOr<UniqueFd> ReceiveMaster(int timeout_ms);

 private:
  ConsoleSocket() = default;

  UniqueFd dir_;  // keeps the /proc/…/fd/N name valid when that is what path_ uses
  UniqueFd listen_;
  std::string path_;
  std::string unlink_;  // how the shim itself names the socket file
};

}  // namespace berth::shim

#endif  // BERTH_SHIM_CONSOLE_H_
