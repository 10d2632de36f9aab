// A process's stdio in the shim: the pipes or the pty, the log, Attach's fan-out of output and
// fan-in of stdin, CloseIO and ResizePty. Nothing here may block the loop: every fd the loop
// writes to is nonblocking, and a reader that falls behind is dropped, never waited for.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/path.h"
#include "common/syscall.h"
#include "shim/errors.h"
#include "shim/shim.h"

namespace berth::shim {
namespace {

constexpr const char* kStreamName[2] = {"stdout", "stderr"};
// Reads per wakeup of one output before the loop serves others; and when draining what a
// process left behind at its exit (something else may hold the pipe and keep writing).
constexpr int kReadsPerWakeup = 16;
constexpr int kReadsPerDrain = 256;
// Attached output pipes get this much room, so a reader may lag by that much before it is
// dropped (the kernel's pipe-max-size, 1 MiB by default, allows it; root may exceed it).
constexpr int kAttachPipeSize = 1 << 20;
// Stdin bytes queued for a process before the stdin attachments stop being read.
constexpr size_t kMaxStdinPending = 256 * 1024;
constexpr char kEot = 0x04;  // ^D: end of input for a terminal in canonical mode

bool SetNonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace

Shim::Process* Shim::Owner(const Output& out) {
  Process* p = Find(out.exec_id);
  return p != nullptr && p->serial == out.serial ? p : nullptr;
}

std::string Shim::Name(const std::string& exec_id) const {
  return exec_id.empty() ? "task " + opts_.id : "process " + exec_id;
}

absl::StatusOr<std::vector<UniqueFd>> Shim::Plumb(Process& p) {
  const std::string log_path =
      !p.stdio.log_path().empty()
          ? p.stdio.log_path()
          : path::Join(opts_.state_dir,
                       p.exec_id.empty() ? "log.json" : "log-" + p.exec_id + ".json");
  p.log = std::make_unique<LogWriter>();
  if (absl::Status st = p.log->Open(log_path, opts_.log_limits); !st.ok()) return st;
  std::vector<UniqueFd> child(3);
  if (p.terminal) {
    p.output_done[1] = true;  // all its output comes through the pty, as stdout
    return child;
  }
  if (p.stdio.stdin_open()) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus("pipe2(stdin)", errno);
    child[0].Reset(in[0]);
    p.stdin_write.Reset(in[1]);
    SetNonblocking(in[1]);
  }
  for (int i = 0; i < 2; ++i) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2(output)", errno);
    child[static_cast<size_t>(i + 1)].Reset(fds[1]);
    SetNonblocking(fds[0]);
    outputs_[fds[0]] = Output{UniqueFd(fds[0]), i, p.exec_id, p.serial};
    Watch(fds[0]);
  }
  return child;
}

absl::Status Shim::AdoptPty(Process& p, UniqueFd master) {
  if (p.size && ::ioctl(master.get(), TIOCSWINSZ, &*p.size) != 0) {
    return ErrnoStatus("ioctl(pty master, TIOCSWINSZ)", errno);
  }
  // The output side gets a dup of its own: it can be closed at EOF (EIO) while the master
  // stays for ResizePty and stdin.
  int out = ::fcntl(master.get(), F_DUPFD_CLOEXEC, 0);
  if (out < 0) return ErrnoStatus("fcntl(pty master, F_DUPFD_CLOEXEC)", errno);
  outputs_[out] = Output{UniqueFd(out), 0, p.exec_id, p.serial};
  Watch(out);
  p.pty = std::move(master);
  PumpStdin(p);  // whatever stdin attachments sent before the process existed
  return absl::OkStatus();
}

void Shim::OnOutput(int fd, bool drain) {
  auto it = outputs_.find(fd);
  if (it == outputs_.end()) return;
  const int stream = it->second.stream;
  char buf[16384];
  for (int reads = 0; reads < (drain ? kReadsPerDrain : kReadsPerWakeup); ++reads) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    Process* p = Owner(it->second);
    if (n > 0) {
      if (p == nullptr) continue;  // deleted while something still writes: drain and drop
      const absl::string_view data(buf, static_cast<size_t>(n));
      // The log first: an attachment may be dropped, the log record never is.
      if (p->log) p->log->Write(kStreamName[stream], data);
      FanOut(*p, stream, data);
      continue;
    }
    // 0: every writer is gone. EIO on a pty master: the slave side closed. Anything else
    // would repeat forever: the stream is over either way.
    if (p != nullptr && p->log) p->log->Flush(kStreamName[stream]);
    Unwatch(fd);
    outputs_.erase(it);
    if (p != nullptr) OutputDone(*p, stream);
    return;
  }
}

void Shim::FanOut(Process& p, int stream, absl::string_view data) {
  std::vector<UniqueFd>& attached = p.attached[stream];
  for (size_t i = 0; i < attached.size();) {
    ssize_t n =
        sys::RetryEintr([&] { return ::write(attached[i].get(), data.data(), data.size()); });
    if (n == static_cast<ssize_t>(data.size())) {
      ++i;
      continue;
    }
    if (n >= 0 || errno == EAGAIN) {
      std::fprintf(stderr,
                   "berth-shim: %s: dropped an attachment to %s: its reader fell more than %d "
                   "bytes behind\n",
                   Name(p.exec_id).c_str(), kStreamName[stream], kAttachPipeSize);
    } else if (errno != EPIPE) {  // EPIPE: the reader went away, nothing to tell
      std::fprintf(stderr, "berth-shim: %s: dropped an attachment to %s: write: %s\n",
                   Name(p.exec_id).c_str(), kStreamName[stream], std::strerror(errno));
    }
    attached.erase(attached.begin() + static_cast<long>(i));
  }
}

void Shim::OutputDone(Process& p, int stream) {
  p.output_done[stream] = true;
  p.attached[stream].clear();  // readers see EOF
}

void Shim::OnStdinAttach(int fd) {
  auto it = stdin_attached_.find(fd);
  if (it == stdin_attached_.end()) return;
  Process* p = Find(it->second.exec_id);
  char buf[16384];
  ssize_t n = sys::RetryEintr([&] { return ::read(fd, buf, sizeof(buf)); });
  if (n < 0 && errno == EAGAIN) return;
  if (n <= 0 || p == nullptr) {
    // The client closed its end (or the process is gone): this attachment is over. The
    // process's stdin stays open; CloseIO closes it.
    Unwatch(fd);
    stdin_attached_.erase(it);
    return;
  }
  p->stdin_pending.append(buf, static_cast<size_t>(n));
  PumpStdin(*p);
}

void Shim::PumpStdin(Process& p) {
  const int target = p.terminal ? p.pty.get() : p.stdin_write.get();
  if (target >= 0) {
    while (!p.stdin_pending.empty()) {
      ssize_t n = ::write(target, p.stdin_pending.data(), p.stdin_pending.size());
      if (n > 0) {
        p.stdin_pending.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      // EPIPE (nothing reads the pipe any more) or EIO (the pty's slave is closed): the
      // process will never take these bytes.
      p.stdin_pending.clear();
      if (!p.terminal) {
        p.close_stdin_when_flushed = true;
      }
      break;
    }
  } else if (!p.terminal && p.state != State::kCreated) {
    p.stdin_pending.clear();  // stdin is closed (or never was open): nowhere to go
  }
  const bool blocked = target >= 0 && !p.stdin_pending.empty();
  if (blocked && stdin_blocked_.count(target) == 0) {
    stdin_blocked_[target] = p.exec_id;
    Watch(target, EPOLLOUT);
  } else if (!blocked && target >= 0 && stdin_blocked_.count(target) > 0) {
    Unwatch(target);
    stdin_blocked_.erase(target);
  }
  PauseStdinAttachments(p.exec_id, p.stdin_pending.size() >= kMaxStdinPending);
  if (p.stdin_pending.empty() && p.close_stdin_when_flushed) CloseStdin(p);
}

void Shim::PauseStdinAttachments(const std::string& exec_id, bool paused) {
  for (auto& [fd, a] : stdin_attached_) {
    if (a.exec_id != exec_id || a.paused == paused) continue;
    a.paused = paused;
    Modify(fd, paused ? 0u : static_cast<uint32_t>(EPOLLIN));
  }
}

void Shim::DrainStdinAttachments(const std::string& exec_id) {
  // Bytes a client wrote before it asked for CloseIO may still sit in its pipe: they belong
  // before the end of input.
  std::vector<int> fds;
  for (const auto& [fd, a] : stdin_attached_) {
    if (a.exec_id == exec_id) fds.push_back(fd);
  }
  Process* p = Find(exec_id);
  if (p == nullptr) return;
  char buf[16384];
  for (int fd : fds) {
    for (;;) {
      ssize_t n = sys::RetryEintr([&] { return ::read(fd, buf, sizeof(buf)); });
      if (n <= 0) break;
      p->stdin_pending.append(buf, static_cast<size_t>(n));
    }
  }
}

void Shim::EndStdinAttachments(const std::string& exec_id) {
  for (auto it = stdin_attached_.begin(); it != stdin_attached_.end();) {
    if (it->second.exec_id == exec_id) {
      Unwatch(it->first);
      it = stdin_attached_.erase(it);
    } else {
      ++it;
    }
  }
}

void Shim::CloseStdin(Process& p) {
  if (p.stdin_write) {
    if (stdin_blocked_.erase(p.stdin_write.get()) > 0) Unwatch(p.stdin_write.get());
    p.stdin_write.Reset();
  }
  p.close_stdin_when_flushed = false;
  p.stdin_closed = true;
  p.stdin_pending.clear();
  // Their writers get EPIPE: the process's stdin is closed for good.
  EndStdinAttachments(p.exec_id);
}

v1::Response Shim::CloseIO(const v1::CloseIORequest& req) {
  Process* p = Find(req.exec_id());
  if (p == nullptr) {
    return Error(absl::StatusCode::kNotFound,
                 absl::StrCat(opts_.id, " has no ", Name(req.exec_id())));
  }
  if (!req.stdin()) return {};
  DrainStdinAttachments(p->exec_id);
  if (p->terminal) {
    // The pty master is the process's output too: it stays open, and the end of input is
    // the terminal's EOF character.
    p->stdin_pending.push_back(kEot);
  } else if (p->stdin_closed) {
    return {};
  } else {
    p->close_stdin_when_flushed = true;
  }
  PumpStdin(*p);
  return {};
}

v1::Response Shim::Attach(const v1::AttachRequest& req, std::vector<UniqueFd>* fds) {
  Process* p = Find(req.exec_id());
  if (p == nullptr) {
    return Error(absl::StatusCode::kNotFound,
                 absl::StrCat(opts_.id, " has no ", Name(req.exec_id()), " to attach to"));
  }
  if (req.stdin() && !p->stdio.stdin_open()) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 absl::StrCat(Name(p->exec_id),
                              " was not created with stdin open (stdio.stdin_open); attach "
                              "without stdin, or create it with stdin open"));
  }
  const bool exited = p->state == State::kStopped;
  v1::Response r;
  v1::AttachResponse* a = r.mutable_attach();
  if (req.stdin()) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC | O_NONBLOCK) != 0) {
      return Error(ErrnoStatus("pipe2(attach stdin)", errno));
    }
    UniqueFd read_end(in[0]), write_end(in[1]);
    // The client's end blocks as a pipe normally does: it is the client's to tune.
    ::fcntl(in[1], F_SETFL, 0);
    if (!exited && !(p->stdin_closed && !p->terminal)) {
      const bool paused = p->stdin_pending.size() >= kMaxStdinPending;
      Watch(read_end.get(), paused ? 0u : static_cast<uint32_t>(EPOLLIN));
      stdin_attached_[in[0]] = StdinAttachment{std::move(read_end), p->exec_id, paused};
    }  // else the read end closes here: writes fail with EPIPE, stdin is gone
    fds->push_back(std::move(write_end));
    a->add_fds(v1::FD_ROLE_STDIN);
  }
  for (int stream = 0; stream < 2; ++stream) {
    if (!(stream == 0 ? req.stdout() : req.stderr())) continue;
    if (stream == 1 && p->terminal) continue;  // a pty has one output, given as stdout
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return Error(ErrnoStatus("pipe2(attach output)", errno));
    UniqueFd read_end(out[0]), write_end(out[1]);
    if (!exited && !p->output_done[stream]) {
      SetNonblocking(out[1]);
      ::fcntl(out[1], F_SETPIPE_SZ, kAttachPipeSize);  // best effort: a smaller pipe works
      // Before the process's output exists (an exec'd process before Start) this waits here
      // and gets everything from the first byte.
      p->attached[stream].push_back(std::move(write_end));
    }  // else the write end closes here: the reader sees EOF at once
    fds->push_back(std::move(read_end));
    a->add_fds(stream == 0 ? v1::FD_ROLE_STDOUT : v1::FD_ROLE_STDERR);
  }
  return r;
}

v1::Response Shim::ResizePty(const v1::ResizePtyRequest& req) {
  Process* p = Find(req.exec_id());
  if (p == nullptr) {
    return Error(absl::StatusCode::kNotFound,
                 absl::StrCat(opts_.id, " has no ", Name(req.exec_id())));
  }
  if (!p->terminal) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 absl::StrCat(Name(p->exec_id), " has no terminal to resize"));
  }
  if (req.width() > 0xffff || req.height() > 0xffff) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("terminal size ", req.width(), "x", req.height(),
                              " is too large (at most 65535 columns and rows)"));
  }
  winsize ws{};
  ws.ws_row = static_cast<unsigned short>(req.height());
  ws.ws_col = static_cast<unsigned short>(req.width());
  // Kept for a pty that does not exist yet (an exec'd process before Start).
  p->size = ws;
  if (p->pty && ::ioctl(p->pty.get(), TIOCSWINSZ, &ws) != 0) {
    return Error(ErrnoStatus("ioctl(pty master, TIOCSWINSZ)", errno));
  }
  return {};
}

void Shim::Forget(const std::string& exec_id) {
  auto it = processes_.find(exec_id);
  if (it == processes_.end()) return;
  Process& p = it->second;
  EndStdinAttachments(exec_id);
  for (int fd : {p.stdin_write.get(), p.pty.get()}) {
    if (fd >= 0 && stdin_blocked_.erase(fd) > 0) Unwatch(fd);
  }
  // Output fds still open (something in the container holds the pipe or the pty) are read
  // and dropped until EOF; the attachments close with the process.
  processes_.erase(it);
}

}  // namespace berth::shim
