#include "shim/runtime_driver.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/syscall.h"
#include "common/unique_fd.h"

namespace berth::shim {
namespace {

// Waits for `pid` until `deadline`: on its pidfd where the kernel has pidfd_open (5.3+), else
// polling every 10 ms. The shim has one thread, so it never waits unboundedly for a runtime.
// DEADLINE_EXCEEDED when the time is up (the process is left running).
absl::Status WaitUntil(pid_t pid, int* status, absl::Time deadline) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  UniqueFd guard(pidfd >= 0 ? pidfd : -1);
  for (;;) {
    const pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid) return absl::OkStatus();
    if (r < 0 && errno != EINTR) return ErrnoStatus("waitpid(runtime)", errno);
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("");
    if (guard.valid()) {
      pollfd p{guard.get(), POLLIN, 0};
      const int64_t ms = std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60'000);
      ::poll(&p, 1, static_cast<int>(ms));
    } else {
      absl::SleepFor(std::min(left, absl::Milliseconds(10)));
    }
  }
}

}  // namespace

absl::Status RuntimeDriver::Run(std::vector<std::string> args, int stdin_fd, int stdout_fd,
                                int stderr_fd) {
  args.insert(args.begin(), {binary_, "--root", root_, "--log", log_, "--log-format", "json"});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork(runtime)", errno);
  if (pid == 0) {
    // Its own process group, so that a runtime that hangs goes with whatever it started.
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(stdin_fd >= 0 ? stdin_fd : null, 0);
    ::dup2(stdout_fd >= 0 ? stdout_fd : null, 1);
    ::dup2(stderr_fd >= 0 ? stderr_fd : null, 2);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::setpgid(pid, pid);  // as the child does: whichever runs first
  int status = 0;
  absl::Status waited = WaitUntil(pid, &status, absl::Now() + timeout_);
  if (absl::IsDeadlineExceeded(waited)) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return absl::DeadlineExceededError(
        absl::StrCat("runtime ", binary_, " ", args[7], ": did not finish within ",
                     absl::FormatDuration(timeout_),
                     ", so it was killed (runtime_timeout in berthd's config sets the limit)"));
  }
  if (!waited.ok()) return waited;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  std::string why = LastLoggedError();
  if (why.empty()) {
    why = WIFEXITED(status) ? absl::StrCat("exit status ", WEXITSTATUS(status))
                            : absl::StrCat("killed by signal ", WTERMSIG(status));
  }
  return absl::FailedPreconditionError(absl::StrCat(binary_, " ", args[7], ": ", why));
}

std::string RuntimeDriver::LastLoggedError() const {
  absl::StatusOr<std::string> log = sys::ReadFile(log_);
  if (!log.ok()) return "";
  // The last {"level":"error","msg":"…"} line; the JSON is ours to parse cheaply: the message
  // is the last string field before "}".
  std::string last;
  for (absl::string_view line : absl::StrSplit(*log, '\n', absl::SkipEmpty())) {
    if (line.find("\"level\":\"error\"") == absl::string_view::npos) continue;
    size_t at = line.find("\"msg\":\"");
    if (at == absl::string_view::npos) continue;
    absl::string_view msg = line.substr(at + 7);
    absl::ConsumeSuffix(&msg, "\"}");
    last = std::string(msg);
  }
  return last;
}

absl::StatusOr<pid_t> RuntimeDriver::Create(const std::string& id, const std::string& bundle,
                                            const std::string& pid_file,
                                            const std::string& console_socket, int stdin_fd,
                                            int stdout_fd, int stderr_fd) {
  std::vector<std::string> args = {"create", "--bundle", bundle, "--pid-file", pid_file};
  if (!console_socket.empty()) args.insert(args.end(), {"--console-socket", console_socket});
  args.push_back(id);
  absl::Status st = Run(std::move(args), stdin_fd, stdout_fd, stderr_fd);
  if (absl::IsDeadlineExceeded(st)) {
    // A create cut short may have left the container half made.
    Delete(id, /*force=*/true).IgnoreError();
  }
  if (!st.ok()) return st;
  return ReadPid(pid_file);
}

absl::StatusOr<pid_t> RuntimeDriver::Exec(const std::string& id, const std::string& process_file,
                                          const std::string& pid_file,
                                          const std::string& console_socket, int stdin_fd,
                                          int stdout_fd, int stderr_fd) {
  std::vector<std::string> args = {"exec",     "--process",  process_file,
                                   "--detach", "--pid-file", pid_file};
  if (!console_socket.empty()) args.insert(args.end(), {"--console-socket", console_socket});
  args.push_back(id);
  absl::Status st = Run(std::move(args), stdin_fd, stdout_fd, stderr_fd);
  if (!st.ok()) return st;
  return ReadPid(pid_file);
}

absl::Status RuntimeDriver::Pause(const std::string& id) { return Run({"pause", id}); }
absl::Status RuntimeDriver::Resume(const std::string& id) { return Run({"resume", id}); }
absl::Status RuntimeDriver::Update(const std::string& id, const std::string& resources_file) {
  return Run({"update", "--resources", resources_file, id});
}

absl::StatusOr<std::vector<pid_t>> RuntimeDriver::Pids(const std::string& id) {
  absl::StatusOr<std::string> out = Output({"ps", "--format", "json", id});
  if (!out.ok()) return out.status();
  // A JSON array of integers: read the numbers.
  std::vector<pid_t> pids;
  for (absl::string_view tok : absl::StrSplit(*out, absl::ByAnyChar("[], \n"), absl::SkipEmpty())) {
    pid_t p = 0;
    if (absl::SimpleAtoi(tok, &p)) pids.push_back(p);
  }
  return pids;
}

absl::StatusOr<std::string> RuntimeDriver::Stats(const std::string& id) {
  return Output({"events", "--stats", id});
}

absl::StatusOr<std::string> RuntimeDriver::Output(std::vector<std::string> args) {
  int out = ::memfd_create("runtime-stdout", MFD_CLOEXEC);
  if (out < 0) return ErrnoStatus("memfd_create", errno);
  UniqueFd fd(out);
  absl::Status st = Run(std::move(args), -1, fd.get(), -1);
  if (!st.ok()) return st;
  ::lseek(fd.get(), 0, SEEK_SET);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  return text;
}

absl::StatusOr<pid_t> RuntimeDriver::ReadPid(const std::string& pid_file) {
  absl::StatusOr<std::string> text = sys::ReadFile(pid_file);
  if (!text.ok()) return text.status();
  pid_t pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 0) {
    return absl::InternalError(absl::StrCat("pid file ", pid_file, " holds \"", *text, "\""));
  }
  return pid;
}

absl::Status RuntimeDriver::Start(const std::string& id) { return Run({"start", id}); }

absl::Status RuntimeDriver::Kill(const std::string& id, int signal, bool all) {
  if (all) return Run({"kill", "--all", id, absl::StrCat(signal)});
  return Run({"kill", id, absl::StrCat(signal)});
}

absl::Status RuntimeDriver::Delete(const std::string& id, bool force) {
  if (force) return Run({"delete", "--force", id});
  return Run({"delete", id});
}

}  // namespace berth::shim
