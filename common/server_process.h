// What every long-running berth server (berthd, berth-snapshotter) does the same way at start:
// route its stop signals to one thread, and take over a socket path a crashed predecessor left.
#ifndef BERTH_COMMON_SERVER_PROCESS_H_
#define BERTH_COMMON_SERVER_PROCESS_H_

#include <signal.h>

#include <string>

#include "absl/status/status.h"

namespace berth {

// Blocks SIGTERM and SIGINT (and ignores SIGPIPE: a client that hangs up mid-write must not kill
// the server). Call before any thread exists, so every thread inherits the mask and the caller
// alone receives the stop signals, with sigwait on the returned set.
sigset_t BlockStopSignals();

// A unix socket file nobody answers on was left by a crash and is removed; one that answers
// belongs to a live process: FAILED_PRECONDITION, naming the address.
absl::Status ClearStaleSocket(const std::string& path);

}  // namespace berth

#endif  // BERTH_COMMON_SERVER_PROCESS_H_
