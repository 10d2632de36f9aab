#include "runtime/hooks.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/syscall.h"

namespace berth::runtime {
namespace {

std::string ReadMemfd(int fd) {
  std::string out;
  ::lseek(fd, 0, SEEK_SET);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0 && out.size() < 4096) out.append(buf, n);
  return out;
}

absl::Status RunOne(const Hook& h, const std::string& where, const std::string& state) {
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  int err = ::memfd_create("hook-stderr", MFD_CLOEXEC);
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = h.env;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork(hook)", errno);
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(in[0], 0);
    if (err >= 0) ::dup2(err, 2);
    int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 1);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  ::close(in[0]);
  // The state is small: it fits the pipe, and a hook that does not read it is fine.
  (void)!::write(in[1], state.data(), state.size());
  ::close(in[1]);

  int status = 0;
  bool timed_out = false;
  if (h.timeout && *h.timeout > 0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(*h.timeout);
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        timed_out = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  } else {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  std::string stderr_text = err >= 0 ? ReadMemfd(err) : "";
  if (err >= 0) ::close(err);
  std::string what;
  if (timed_out) {
    what = absl::StrCat("timed out after ", *h.timeout, "s");
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && stderr_text.empty()) {
    what = "could not be executed";
  } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    what = absl::StrCat("exit status ", WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    what = absl::StrCat("killed by signal ", WTERMSIG(status));
  } else {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat(where, " ", h.path, ": ", what, stderr_text.empty() ? "" : ": ", stderr_text));
}

}  // namespace

absl::Status RunHooks(const std::vector<Hook>& hooks, const std::string& phase,
                      const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    absl::Status st = RunOne(hooks[i], absl::StrCat("hooks.", phase, "[", i, "]"), state_json);
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace berth::runtime
