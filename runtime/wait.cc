#include "runtime/wait.h"

#include <sys/wait.h>

#include <cerrno>
#include <initializer_list>

namespace berth::runtime {

ScopedSignalForwarding::ScopedSignalForwarding() {
  sigemptyset(&set_);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT}) {
    sigaddset(&set_, sig);
  }
  sigprocmask(SIG_BLOCK, &set_, &old_);
}

ScopedSignalForwarding::~ScopedSignalForwarding() { sigprocmask(SIG_SETMASK, &old_, nullptr); }

int ScopedSignalForwarding::WaitFor(pid_t pid) {
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    } else if (r < 0 && errno == ECHILD) {
      return 255;
    }
    siginfo_t info;
    int sig = sigwaitinfo(&set_, &info);
    if (sig < 0 || sig == SIGCHLD) continue;
    kill(pid, sig);
  }
}

}  // namespace berth::runtime
