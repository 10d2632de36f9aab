// How the shim drives the OCI runtime: one exec of its binary per operation, runc's command
// line (berth-runtime, runc and crun all speak it), with --log in JSON so that a failure's own
// message can be passed on.
#ifndef BERTH_SHIM_RUNTIME_DRIVER_H_
#define BERTH_SHIM_RUNTIME_DRIVER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace berth::shim {

// How long one runtime command may run before the shim kills it (with everything in its
// process group) and fails the request with DEADLINE_EXCEEDED, unless set_timeout says
// otherwise (berth-shim's --runtime-timeout, from berthd's runtime_timeout). The shim is
// single-threaded: a runtime that hangs must not hang it.
inline constexpr absl::Duration kDefaultRuntimeTimeout = absl::Seconds(60);

class RuntimeDriver {
 public:
  RuntimeDriver(std::string binary, std::string root, std::string log)
      : binary_(std::move(binary)), root_(std::move(root)), log_(std::move(log)) {}

  // `create` with the container's stdio on the given fds (the init inherits them), or, with a
  // non-empty `console_socket`, with a pty whose master the runtime sends there.
  absl::StatusOr<pid_t> Create(const std::string& id, const std::string& bundle,
                               const std::string& pid_file, const std::string& console_socket,
                               int stdin_fd, int stdout_fd, int stderr_fd);
  absl::Status Start(const std::string& id);
  // `exec --detach` of the process in `process_file` (OCI process JSON); returns its pid.
  // `console_socket` as for Create.
  absl::StatusOr<pid_t> Exec(const std::string& id, const std::string& process_file,
                             const std::string& pid_file, const std::string& console_socket,
                             int stdin_fd, int stdout_fd, int stderr_fd);
  absl::Status Pause(const std::string& id);
  absl::Status Resume(const std::string& id);
  absl::Status Update(const std::string& id, const std::string& resources_file);
  // `ps --format json`: the container's host pids.
  absl::StatusOr<std::vector<pid_t>> Pids(const std::string& id);
  // `events --stats`: one JSON object.
  absl::StatusOr<std::string> Stats(const std::string& id);
  absl::Status Kill(const std::string& id, int signal, bool all);
  absl::Status Delete(const std::string& id, bool force);
  // The limit for each runtime command; zero or less: kDefaultRuntimeTimeout.
  void set_timeout(absl::Duration timeout) {
    timeout_ = timeout > absl::ZeroDuration() ? timeout : kDefaultRuntimeTimeout;
  }

 private:
  // Runs the runtime to completion. Its failure message is the last error in its log.
  absl::Status Run(std::vector<std::string> args, int stdin_fd = -1, int stdout_fd = -1,
                   int stderr_fd = -1);
  // Runs the runtime and returns what it printed on stdout.
  absl::StatusOr<std::string> Output(std::vector<std::string> args);
  absl::StatusOr<pid_t> ReadPid(const std::string& pid_file);
  std::string LastLoggedError() const;

  std::string binary_;
  std::string root_;
  std::string log_;
  absl::Duration timeout_ = kDefaultRuntimeTimeout;
};

}  // namespace berth::shim

#endif  // BERTH_SHIM_RUNTIME_DRIVER_H_
