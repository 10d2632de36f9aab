#include "shim/shim.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/path.h"
#include "common/syscall.h"
#include "common/version.h"

namespace berth::shim {
namespace {

constexpr size_t kMaxPacket = 1 << 16;

int64_t NowNanos() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

v1::Response Error(absl::StatusCode code, const std::string& message) {
  v1::Response r;
  r.set_code(static_cast<int32_t>(code));
  r.set_message(message);
  return r;
}

v1::Response Error(const absl::Status& st) { return Error(st.code(), std::string(st.message())); }

}  // namespace

Shim::Shim(Options options)
    : opts_(std::move(options)),
      driver_(opts_.runtime, opts_.runtime_root, path::Join(opts_.state_dir, "runtime.log")) {}

absl::Status Shim::Listen() {
  if (absl::Status st = sys::MkdirAll(opts_.state_dir, 0711); !st.ok()) return st;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (opts_.socket.size() >= sizeof(sa.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", opts_.socket));
  }
  std::memcpy(sa.sun_path, opts_.socket.c_str(), opts_.socket.size());
  listen_.Reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listen_) return ErrnoStatus("socket(AF_UNIX, SOCK_SEQPACKET)", errno);
  ::unlink(opts_.socket.c_str());
  if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    return ErrnoStatus(absl::StrCat("bind(", opts_.socket, ")"), errno);
  }
  ::chmod(opts_.socket.c_str(), 0600);
  if (::listen(listen_.get(), 16) != 0) return ErrnoStatus("listen", errno);
  return absl::OkStatus();
}

void Shim::Watch(int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
}

void Shim::Unwatch(int fd) { ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

absl::Status Shim::Serve() {
  // Orphans of the container (and its init, once `create` exits) are ours to reap.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return ErrnoStatus("prctl(PR_SET_CHILD_SUBREAPER)", errno);
  }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal_.Reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  epoll_.Reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!signal_ || !epoll_) return ErrnoStatus("signalfd/epoll_create1", errno);
  Watch(listen_.get());
  Watch(signal_.get());
  sys::WriteFileAtomic(path::Join(opts_.state_dir, "shim.pid"), absl::StrCat(::getpid()), 0644,
                       sys::Durability::kVolatile)
      .IgnoreError();

  epoll_event events[16];
  while (!stop_) {
    int n = ::epoll_wait(epoll_.get(), events, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("epoll_wait", errno);
    }
    for (int i = 0; i < n && !stop_; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_.get()) {
        int c = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          clients_[c] = UniqueFd(c);
          Watch(c);
        }
      } else if (fd == signal_.get()) {
        OnSignal();
      } else if (outputs_.count(fd) > 0) {
        OnOutput(fd);
      } else if (clients_.count(fd) > 0) {
        OnClient(fd);
      }
    }
  }
  ::unlink(opts_.socket.c_str());
  return absl::OkStatus();
}

void Shim::OnSignal() {
  signalfd_siginfo si;
  while (::read(signal_.get(), &si, sizeof(si)) == sizeof(si)) {
    if (si.ssi_signo == SIGTERM && state_ != State::kRunning) stop_ = true;
  }
  // Reap everything: the init, and whatever the container orphaned onto us.
  for (;;) {
    int status = 0;
    pid_t p = ::waitpid(-1, &status, WNOHANG);
    if (p <= 0) break;
    if (p == pid_ && state_ != State::kStopped) Exited(status);
  }
}

void Shim::Exited(int status) {
  exit_status_ = WIFEXITED(status) ? static_cast<uint32_t>(WEXITSTATUS(status))
                                   : 128u + static_cast<uint32_t>(WTERMSIG(status));
  exited_at_ = NowNanos();
  state_ = State::kStopped;
  // Output still in the pipes belongs before the exit in the log.
  std::vector<int> pipes;
  for (const auto& [fd, owned] : outputs_) pipes.push_back(fd);
  for (int fd : pipes) OnOutput(fd);
  log_.Flush("stdout");
  log_.Flush("stderr");
  // On disk before anyone is told, so that a daemon restarting now still learns it.
  sys::WriteFileAtomic(path::Join(opts_.state_dir, "exit.json"),
                       absl::StrCat("{\"pid\":", pid_, ",\"exit_status\":", exit_status_,
                                    ",\"exited_at\":", exited_at_, "}\n"),
                       0644, sys::Durability::kVolatile)
      .IgnoreError();
  v1::ShimPacket event;
  v1::TaskExit* exit = event.mutable_event()->mutable_exit();
  event.mutable_event()->set_sequence(++event_seq_);
  exit->set_pid(static_cast<uint32_t>(pid_));
  exit->set_exit_status(exit_status_);
  exit->set_exited_at_unix_nano(exited_at_);
  // Subscribers hear of the exit before any Wait returns.
  for (const auto& [client, fd] : clients_) Send(client, event);
  for (const auto& [client, id] : waiters_) {
    v1::Response r;
    r.set_id(id);
    r.mutable_wait()->set_exit_status(exit_status_);
    r.mutable_wait()->set_exited_at_unix_nano(exited_at_);
    Respond(client, std::move(r));
  }
  waiters_.clear();
}

void Shim::OnOutput(int fd) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      log_.Write(output_stream_[fd], absl::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n == 0) {  // every writer is gone
      log_.Flush(output_stream_[fd]);
      Unwatch(fd);
      outputs_.erase(fd);
    }
    return;
  }
}

void Shim::OnClient(int fd) {
  std::string buf(kMaxPacket, '\0');
  ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    Unwatch(fd);
    clients_.erase(fd);
    std::erase_if(waiters_, [fd](const auto& w) { return w.first == fd; });
    return;
  }
  v1::Request req;
  if (!req.ParseFromArray(buf.data(), static_cast<int>(n))) {
    Respond(fd, Error(absl::StatusCode::kInvalidArgument, "malformed request packet"));
    return;
  }
  bool defer = false;
  v1::Response resp = Handle(fd, req, &defer);
  if (defer) return;
  resp.set_id(req.id());
  Respond(fd, std::move(resp));
}

void Shim::Send(int client, const v1::ShimPacket& packet) {
  std::string out = packet.SerializeAsString();
  ::send(client, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void Shim::Respond(int client, v1::Response resp) {
  v1::ShimPacket p;
  *p.mutable_response() = std::move(resp);
  Send(client, p);
}

v1::Response Shim::Handle(int client, const v1::Request& req, bool* defer) {
  switch (req.kind_case()) {
    case v1::Request::kConnect: {
      if (req.connect().protocol_version() != v1::PROTOCOL_VERSION_1) {
        return Error(absl::StatusCode::kFailedPrecondition,
                     absl::StrCat("shim protocol version ", req.connect().protocol_version(),
                                  " is not supported; this shim speaks version 1"));
      }
      v1::Response r;
      r.mutable_connect()->set_protocol_version(v1::PROTOCOL_VERSION_1);
      r.mutable_connect()->set_shim_version(kVersion);
      r.mutable_connect()->set_shim_pid(static_cast<uint32_t>(::getpid()));
      r.mutable_connect()->set_task_pid(static_cast<uint32_t>(pid_));
      return r;
    }
    case v1::Request::kCreate:
      return Create(req.create());
    case v1::Request::kStart:
      return Start();
    case v1::Request::kState:
      return StateOf();
    case v1::Request::kWait:
      if (state_ == State::kNone) {
        return Error(absl::StatusCode::kFailedPrecondition, "no task has been created");
      }
      if (state_ != State::kStopped) {
        waiters_.push_back({client, req.id()});
        *defer = true;
        return {};
      } else {
        v1::Response r;
        r.mutable_wait()->set_exit_status(exit_status_);
        r.mutable_wait()->set_exited_at_unix_nano(exited_at_);
        return r;
      }
    case v1::Request::kKill:
      return Kill(req.kill());
    case v1::Request::kDelete:
      return Delete();
    case v1::Request::kShutdown:
      if (state_ == State::kRunning && !req.shutdown().now()) {
        return Error(absl::StatusCode::kFailedPrecondition,
                     "the task is still running; kill it first or shut down with now");
      }
      stop_ = true;
      return {};
    default:
      return Error(absl::StatusCode::kUnimplemented,
                   "this request is not served by berth-shim yet (exec, attach, pause, resume, "
                   "pids, stats, update, resize and close-io come with the tasks service)");
  }
}

v1::Response Shim::Create(const v1::CreateRequest& req) {
  if (state_ != State::kNone) {
    return Error(absl::StatusCode::kAlreadyExists, absl::StrCat("task ", opts_.id, " exists"));
  }
  if (req.id() != opts_.id) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("this shim serves task ", opts_.id, ", not ", req.id()));
  }
  if (req.terminal()) {
    return Error(absl::StatusCode::kUnimplemented, "terminal tasks come with the tasks service");
  }
  std::string log_path = req.stdio().log_path().empty() ? path::Join(opts_.state_dir, "log.json")
                                                        : req.stdio().log_path();
  if (absl::Status st = log_.Open(log_path); !st.ok()) return Error(st);
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    return Error(ErrnoStatus("pipe2", errno));
  }
  UniqueFd out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]);
  UniqueFd in_r, in_w;
  if (req.stdio().stdin_open()) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return Error(ErrnoStatus("pipe2", errno));
    in_r.Reset(in[0]);
    in_w.Reset(in[1]);
  }
  absl::StatusOr<pid_t> pid =
      driver_.Create(opts_.id, req.bundle(), path::Join(opts_.state_dir, "init.pid"), in_r.get(),
                     out_w.get(), err_w.get());
  if (!pid.ok()) return Error(pid.status());
  pid_ = *pid;
  bundle_ = req.bundle();
  state_ = State::kCreated;
  stdin_ = std::move(in_w);
  for (auto [fd, stream] : {std::pair{&out_r, "stdout"}, std::pair{&err_r, "stderr"}}) {
    ::fcntl(fd->get(), F_SETFL, O_NONBLOCK);
    output_stream_[fd->get()] = stream;
    Watch(fd->get());
    int raw = fd->get();
    outputs_[raw] = std::move(*fd);
  }
  v1::Response r;
  r.mutable_create()->set_pid(static_cast<uint32_t>(pid_));
  return r;
}

v1::Response Shim::Start() {
  if (state_ != State::kCreated) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 absl::StrCat("task ", opts_.id, " is not created, so it cannot start"));
  }
  if (absl::Status st = driver_.Start(opts_.id); !st.ok()) return Error(st);
  if (state_ == State::kCreated) state_ = State::kRunning;
  v1::Response r;
  r.mutable_start()->set_pid(static_cast<uint32_t>(pid_));
  return r;
}

v1::Response Shim::Kill(const v1::KillRequest& req) {
  if (state_ == State::kNone || state_ == State::kStopped) {
    return Error(absl::StatusCode::kNotFound, absl::StrCat("task ", opts_.id, " is not running"));
  }
  absl::Status st =
      driver_.Kill(opts_.id, req.signal() ? static_cast<int>(req.signal()) : SIGTERM, req.all());
  return st.ok() ? v1::Response() : Error(st);
}

v1::Response Shim::Delete() {
  if (state_ == State::kRunning || state_ == State::kCreated) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 absl::StrCat("task ", opts_.id, " is still running; kill it first"));
  }
  if (state_ == State::kNone) {
    return Error(absl::StatusCode::kNotFound, absl::StrCat("no task ", opts_.id));
  }
  if (absl::Status st = driver_.Delete(opts_.id, /*force=*/true); !st.ok()) return Error(st);
  v1::Response r;
  r.mutable_delete_()->set_pid(static_cast<uint32_t>(pid_));
  r.mutable_delete_()->set_exit_status(exit_status_);
  r.mutable_delete_()->set_exited_at_unix_nano(exited_at_);
  state_ = State::kNone;
  return r;
}

v1::Response Shim::StateOf() {
  v1::Response r;
  v1::StateResponse* s = r.mutable_state();
  s->set_id(opts_.id);
  s->set_pid(static_cast<uint32_t>(pid_));
  s->set_bundle(bundle_);
  switch (state_) {
    case State::kCreated:
      s->set_status(v1::STATUS_CREATED);
      break;
    case State::kRunning:
      s->set_status(v1::STATUS_RUNNING);
      break;
    case State::kStopped:
      s->set_status(v1::STATUS_STOPPED);
      s->set_exit_status(exit_status_);
      s->set_exited_at_unix_nano(exited_at_);
      break;
    case State::kNone:
      s->set_status(v1::STATUS_UNKNOWN);
      break;
  }
  return r;
}

}  // namespace berth::shim
