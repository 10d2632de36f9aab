// Waiting for a foreground child (run, exec without --detach) while passing on the signals
// that berth-runtime receives, as runc does: the container, not the runtime, decides what a
// SIGTERM means.
#ifndef BERTH_RUNTIME_WAIT_H_
#define BERTH_RUNTIME_WAIT_H_

#include <signal.h>
#include <sys/types.h>

namespace berth::runtime {

class ScopedSignalForwarding {
 public:
  // Blocks the forwarded signals and SIGCHLD; restores the old mask on destruction.
  ScopedSignalForwarding();
  ~ScopedSignalForwarding();
  ScopedSignalForwarding(const ScopedSignalForwarding&) = delete;
  ScopedSignalForwarding& operator=(const ScopedSignalForwarding&) = delete;

  // Forwards signals to `pid` until it exits; returns its exit code, or 128+signal.
  int WaitFor(pid_t pid);

 private:
  sigset_t set_;
  sigset_t old_;
};

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_WAIT_H_
