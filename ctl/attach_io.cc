#include "ctl/attach_io.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "common/unique_fd.h"
#include "ctl/container/detach_keys.h"

namespace berth::ctl {
namespace {

namespace tpb = berth::services::tasks::v1;

// Raw mode on our terminal for as long as it lives: keys reach the container as typed.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd_, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // our reader went away; nothing better to do with the output
    done += static_cast<size_t>(n);
  }
}

bool WindowSize(int fd, uint32_t* width, uint32_t* height) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0) return false;
  *width = ws.ws_col;
  *height = ws.ws_row;
  return true;
}

}  // namespace

absl::StatusOr<AttachResult> AttachStream(Client& client, const AttachOptions& options,
                                          const std::function<absl::Status()>& attached) {
  auto stub = tpb::Tasks::NewStub(client.channel());
  std::unique_ptr<grpc::ClientContext> ctx = client.Context();
  auto stream = stub->Attach(ctx.get());
  tpb::AttachRequest start;
  start.mutable_start()->set_container_id(options.container_id);
  start.mutable_start()->set_exec_id(options.exec_id);
  start.mutable_start()->set_stdin(options.stdin);
  start.mutable_start()->set_stdout(options.stdout);
  start.mutable_start()->set_stderr(options.stderr);
  start.mutable_start()->set_logs(options.logs);
  tpb::AttachResponse msg;
  if (!stream->Write(start) || !stream->Read(&msg) || !msg.has_attached()) {
    grpc::Status st = stream->Finish();
    return CallError(client, st.ok() ? grpc::Status(grpc::StatusCode::INTERNAL,
                                                    "the daemon did not confirm the attach")
                                     : st);
  }

  absl::Mutex write_mu;
  bool writes_done = false;  // guarded by write_mu
  auto send = [&](const tpb::AttachRequest& m) {
    absl::MutexLock l(&write_mu);
    return !writes_done && stream->Write(m);
  };
  const bool tty_in = options.tty && ::isatty(STDIN_FILENO);
  auto resize = [&] {
    tpb::AttachRequest r;
    uint32_t w, h;
    if (!WindowSize(tty_in ? STDIN_FILENO : STDOUT_FILENO, &w, &h)) return;
    r.mutable_resize()->set_width(w);
    r.mutable_resize()->set_height(h);
    send(r);
  };
  if (options.tty) resize();
  if (absl::Status st = attached(); !st.ok()) {
    ctx->TryCancel();
    stream->Finish();
    return st;
  }

  // SIGWINCH is read from a signalfd by the input thread. Main blocks it before any thread
  // starts; blocking it again here keeps this function right for any other caller.
  sigset_t winch;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  ::pthread_sigmask(SIG_BLOCK, &winch, nullptr);
  UniqueFd sigfd(options.tty ? ::signalfd(-1, &winch, SFD_CLOEXEC) : -1);
  int stop_pipe[2];
  if (::pipe2(stop_pipe, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  UniqueFd stop_read(stop_pipe[0]), stop_write(stop_pipe[1]);

  std::unique_ptr<RawTerminal> raw;
  if (tty_in && options.stdin) raw = std::make_unique<RawTerminal>(STDIN_FILENO);

  AttachResult result;
  std::atomic<bool> detached{false};
  std::thread input([&] {
    DetachMatcher matcher(options.detach_keys);
    bool reading = options.stdin;
    char buf[4096];
    for (;;) {
      pollfd fds[3] = {{stop_read.get(), POLLIN, 0},
                       {sigfd.get(), POLLIN, 0},
                       {reading ? STDIN_FILENO : -1, POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents != 0) return;
      if (fds[1].revents != 0) {
        signalfd_siginfo si;
        if (::read(sigfd.get(), &si, sizeof(si)) > 0) resize();
      }
      if (fds[2].revents == 0) continue;
      const ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // End of our input: the process's stdin ends too, as with docker run -i.
        tpb::AttachRequest close;
        close.mutable_close_stdin();
        send(close);
        reading = false;
        continue;
      }
      std::string forward(buf, static_cast<size_t>(n));
      if (!options.detach_keys.empty()) {
        DetachMatcher::Result r = matcher.Feed(forward);
        forward = std::move(r.forward);
        if (r.detach) {
          if (!forward.empty()) {
            tpb::AttachRequest in;
            in.set_stdin(forward);
            send(in);
          }
          detached = true;
          ctx->TryCancel();
          return;
        }
      }
      if (forward.empty()) continue;
      tpb::AttachRequest in;
      in.set_stdin(std::move(forward));
      if (!send(in)) return;
    }
  });

  while (stream->Read(&msg)) {
    if (msg.has_output()) {
      WriteAll(msg.output().stream() == tpb::STREAM_STDERR ? STDERR_FILENO : STDOUT_FILENO,
               msg.output().data());
    } else if (msg.has_exit()) {
      result.exit_status = static_cast<int>(msg.exit().exit_status());
      absl::MutexLock l(&write_mu);
      writes_done = true;
      stream->WritesDone();
    }
  }
  WriteAll(stop_write.get(), "x");
  input.join();
  grpc::Status st = stream->Finish();
  raw.reset();  // the terminal is ours again before anything is printed
  if (detached) {
    result.detached = true;
    return result;
  }
  if (!st.ok() && result.exit_status < 0) return CallError(client, st);
  return result;
}

}  // namespace berth::ctl
