// Connecting this terminal (or these pipes) to a process in a container through the tasks
// service's Attach stream: output to stdout/stderr, stdin to the process, the window size
// kept in step (SIGWINCH), and the detach keys. With a terminal, stdin is put in raw mode and
// always restored, whatever happens.
#ifndef BERTH_CTL_ATTACH_IO_H_
#define BERTH_CTL_ATTACH_IO_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "ctl/client.h"

namespace berth::ctl {

struct AttachOptions {
  std::string container_id;
  std::string exec_id;
  bool stdin = false;       // forward our stdin
  bool stdout = true;       // show the process's stdout
  bool stderr = true;       // show its stderr
  bool tty = false;         // the process has a terminal: raw mode and resizes
  bool logs = false;        // replay the log first
  std::string detach_keys;  // a byte sequence (ParseDetachKeys); empty: none
};

struct AttachResult {
  bool detached = false;  // the user typed the detach keys
  int exit_status = -1;   // when the process ended while attached
};

// Attaches, calls `attached` once the stream is connected (to start the process without
// missing output), and relays until the process ends or the user detaches.
absl::StatusOr<AttachResult> AttachStream(Client& client, const AttachOptions& options,
                                          const std::function<absl::Status()>& attached);

}  // namespace berth::ctl

#endif  // BERTH_CTL_ATTACH_IO_H_
