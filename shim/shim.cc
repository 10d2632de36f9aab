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
#include "shim/errors.h"

namespace berth::shim {
namespace {

constexpr size_t kMaxPacket = 1 << 16;
constexpr size_t kMaxFdsPerPacket = 3;  // Attach: stdin, stdout, stderr

int64_t NowNanos() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

Shim::Shim(Options options)
    : opts_(std::move(options)),
      driver_(opts_.runtime, opts_.runtime_root, path::Join(opts_.state_dir, "runtime.log")) {
  driver_.set_timeout(opts_.runtime_timeout);
}

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

void Shim::Watch(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
}

void Shim::Modify(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
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
      } else if (stdin_attached_.count(fd) > 0) {
        OnStdinAttach(fd);
      } else if (auto blocked = stdin_blocked_.find(fd); blocked != stdin_blocked_.end()) {
        if (Process* p = Find(blocked->second)) {
          PumpStdin(*p);
        } else {
          Unwatch(fd);
          stdin_blocked_.erase(blocked);
        }
      } else if (fd == oom_.fd()) {
        OnOom();
      } else if (fd == ports_.fd()) {
        ports_.OnReady();
      } else if (clients_.count(fd) > 0) {
        OnClient(fd);
      }
    }
  }
  ClosePorts();
  ::unlink(opts_.socket.c_str());
  return absl::OkStatus();
}

void Shim::ClosePorts() {
  if (ports_.fd() >= 0) Unwatch(ports_.fd());
  ports_.Close();
}

void Shim::OnSignal() {
  signalfd_siginfo si;
  while (::read(signal_.get(), &si, sizeof(si)) == sizeof(si)) {
    if (si.ssi_signo == SIGTERM && !AnyRunning()) stop_ = true;
  }
  // Reap everything: our processes, and whatever the container orphaned onto us.
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    for (auto& [id, p] : processes_) {
      if (p.pid == pid && p.state != State::kStopped) Exited(p, status);
    }
  }
}

bool Shim::AnyRunning() const {
  for (const auto& [id, p] : processes_) {
    if (p.state == State::kRunning) return true;
  }
  return false;
}

Shim::Process* Shim::Find(const std::string& exec_id) {
  auto it = processes_.find(exec_id);
  return it == processes_.end() ? nullptr : &it->second;
}

void Shim::Exited(Process& p, int status) {
  p.exit_status = WIFEXITED(status) ? static_cast<uint32_t>(WEXITSTATUS(status))
                                    : 128u + static_cast<uint32_t>(WTERMSIG(status));
  p.exited_at = NowNanos();
  p.state = State::kStopped;
  if (p.exec_id.empty()) ClosePorts();
  // Output still in the pipes belongs before the exit in the log.
  std::vector<int> pipes;
  for (const auto& [fd, out] : outputs_) {
    if (Owner(out) == &p) pipes.push_back(fd);
  }
  for (int fd : pipes) OnOutput(fd, /*drain=*/true);
  // Its stdin is gone: clients still writing to an attachment get EPIPE.
  EndStdinAttachments(p.exec_id);
  p.stdin_pending.clear();
  if (p.log) {
    p.log->Flush("stdout");
    p.log->Flush("stderr");
  }
  // On disk before anyone is told, so that a daemon restarting now still learns it.
  const std::string file = p.exec_id.empty() ? "exit.json" : "exit-" + p.exec_id + ".json";
  sys::WriteFileAtomic(path::Join(opts_.state_dir, file),
                       absl::StrCat("{\"pid\":", p.pid, ",\"exit_status\":", p.exit_status,
                                    ",\"exited_at\":", p.exited_at, "}\n"),
                       0644, sys::Durability::kVolatile)
      .IgnoreError();
  v1::ShimPacket event;
  v1::TaskExit* exit = event.mutable_event()->mutable_exit();
  exit->set_exec_id(p.exec_id);
  exit->set_pid(static_cast<uint32_t>(p.pid));
  exit->set_exit_status(p.exit_status);
  exit->set_exited_at_unix_nano(p.exited_at);
  // Subscribers hear of the exit before any Wait returns.
  Publish(std::move(event));
  for (size_t i = 0; i < p.waiters_fds.size(); ++i) {
    v1::Response r;
    r.set_id(p.waiters_ids[i]);
    r.mutable_wait()->set_exit_status(p.exit_status);
    r.mutable_wait()->set_exited_at_unix_nano(p.exited_at);
    Respond(p.waiters_fds[i], std::move(r));
  }
  p.waiters_fds.clear();
  p.waiters_ids.clear();
}

void Shim::Publish(v1::ShimPacket event) {
  event.mutable_event()->set_sequence(++event_seq_);
  for (const auto& [client, fd] : clients_) Send(client, event);
}

void Shim::OnOom() {
  // When the cgroup is gone, Check closes the fd, which takes it out of epoll.
  if (oom_.Check() == 0) return;
  v1::ShimPacket event;
  event.mutable_event()->mutable_oom();
  Publish(std::move(event));
}

void Shim::OnClient(int fd) {
  // One buffer for the life of the shim, in .bss: a packet touches only the pages it fills,
  // where a fresh zeroed 64 KiB string per packet kept 64 KiB of heap resident.
  static char buf[kMaxPacket];
  ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    Unwatch(fd);
    clients_.erase(fd);
    for (auto& [id, p] : processes_) {
      for (size_t i = 0; i < p.waiters_fds.size();) {
        if (p.waiters_fds[i] == fd) {
          p.waiters_fds.erase(p.waiters_fds.begin() + static_cast<long>(i));
          p.waiters_ids.erase(p.waiters_ids.begin() + static_cast<long>(i));
        } else {
          ++i;
        }
      }
    }
    return;
  }
  v1::Request req;
  if (!req.ParseFromArray(buf, static_cast<int>(n))) {
    Respond(fd, Error(absl::StatusCode::kInvalidArgument, "malformed request packet"));
    return;
  }
  bool defer = false;
  std::vector<UniqueFd> fds;
  v1::Response resp = Handle(fd, req, &defer, &fds);
  if (defer) return;
  resp.set_id(req.id());
  Respond(fd, std::move(resp), fds);
}

void Shim::Send(int client, const v1::ShimPacket& packet, const std::vector<UniqueFd>& fds) {
  std::string out = packet.SerializeAsString();
  iovec iov{.iov_base = out.data(), .iov_len = out.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  // The fds ride on the packet itself, so they arrive with the message that says what they are.
  alignas(cmsghdr) char control[CMSG_SPACE(kMaxFdsPerPacket * sizeof(int))] = {};
  if (!fds.empty() && fds.size() <= kMaxFdsPerPacket) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    for (size_t i = 0; i < fds.size(); ++i) {
      const int fd = fds[i].get();
      std::memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
    }
  }
  ::sendmsg(client, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

void Shim::Respond(int client, v1::Response resp, const std::vector<UniqueFd>& fds) {
  v1::ShimPacket p;
  *p.mutable_response() = std::move(resp);
  Send(client, p, fds);
}

}  // namespace berth::shim
