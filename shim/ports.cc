#include "shim/ports.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace berth::shim {
namespace {

// Work per wakeup of one socket before the loop serves others; level-triggered epoll brings
// the loop back for the rest.
constexpr int kAcceptsPerWakeup = 16;
constexpr int kDatagramsPerWakeup = 64;
constexpr int kRelayRounds = 4;
constexpr size_t kMaxDatagram = 65535;
// In .bss: its pages are touched only by the datagrams that pass.
char datagram[kMaxDatagram];

int64_t NowMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string Ip(in_addr a) {
  char s[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a, s, sizeof(s));
  return s;
}

// "127.0.0.1:8080/tcp", as people write a published port.
std::string Name(const v1::PortForward& p) {
  return absl::StrCat(p.host_ip().empty() ? "0.0.0.0" : p.host_ip(), ":", p.host_port(), "/",
                      p.protocol());
}

absl::Status Parse(const v1::PortForward& p, sockaddr_in* host, sockaddr_in* target) {
  if (p.protocol() != "tcp" && p.protocol() != "udp") {
    return absl::InvalidArgumentError(
        absl::StrCat("port ", Name(p), ": protocol \"", p.protocol(), "\" is neither tcp nor udp"));
  }
  host->sin_family = target->sin_family = AF_INET;
  if (!p.host_ip().empty() && ::inet_pton(AF_INET, p.host_ip().c_str(), &host->sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("port ", Name(p), ": host IP \"", p.host_ip(), "\" is not an IPv4 address"));
  }
  if (::inet_pton(AF_INET, p.container_ip().c_str(), &target->sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("port ", Name(p), ": container IP \"",
                                                   p.container_ip(), "\" is not an IPv4 address"));
  }
  if (p.host_port() > 65535 || p.container_port() == 0 || p.container_port() > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port ", Name(p), " -> ", p.container_ip(), ":", p.container_port(),
                     ": ports are 1 to 65535 (host port 0: any free one)"));
  }
  host->sin_port = htons(static_cast<uint16_t>(p.host_port()));
  target->sin_port = htons(static_cast<uint16_t>(p.container_port()));
  return absl::OkStatus();
}

// Closing after this sends a reset instead of a FIN: the peer learns the other side failed.
void SetReset(int fd) {
  linger l{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

bool Transient(int err) { return err == EAGAIN || err == EINTR; }

}  // namespace

// One TCP connection: side 0 the client, side 1 the container. buf[i] holds bytes read from
// side i, not yet written to the other side: [start[i], end[i]) of its half of `mem`.
struct PortForwarder::Relay {
  explicit Relay(size_t cap) : cap(cap) {}
  ~Relay() {
    if (mem != nullptr) ::munmap(mem, 2 * cap);
  }
  size_t cap;
  // Mapped, not malloc'd: pages are touched only as data passes and go back to the kernel
  // when the connection closes, so a shim that once relayed a burst stays small.
  char* mem = nullptr;
  UniqueFd fd[2];
  size_t start[2] = {0, 0}, end[2] = {0, 0};
  bool eof[2] = {false, false};   // side i sent its FIN
  bool shut[2] = {false, false};  // we sent side i our FIN (shutdown SHUT_WR)
  uint32_t watched[2] = {0, 0};
  bool connecting = true;
  char* buf(int i) { return mem + static_cast<size_t>(i) * cap; }
};

PortForwarder::PortForwarder(PortLimits limits) : limits_(limits) {}

PortForwarder::~PortForwarder() { Close(); }

void PortForwarder::Close() {
  for (const auto& [fd, r] : relays_) SetReset(fd);
  relays_.clear();
  relay_count_ = 0;
  flow_of_.clear();
  flows_.clear();
  listeners_.clear();
  timer_.Reset();
  timer_armed_ = false;
  epoll_.Reset();
}

absl::Status PortForwarder::Open(const PortList& ports, PortList* bound) {
  Close();
  if (ports.empty()) return absl::OkStatus();
  std::vector<std::pair<sockaddr_in, sockaddr_in>> addrs(static_cast<size_t>(ports.size()));
  for (int i = 0; i < ports.size(); ++i) {
    auto& [host, target] = addrs[static_cast<size_t>(i)];
    if (absl::Status st = Parse(ports[i], &host, &target); !st.ok()) return st;
  }
  epoll_.Reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) {
    return absl::InternalError(absl::StrCat("epoll_create1: ", std::strerror(errno)));
  }
  PortList out;
  for (int i = 0; i < ports.size(); ++i) {
    const v1::PortForward& p = ports[i];
    auto& [host, target] = addrs[static_cast<size_t>(i)];
    const bool udp = p.protocol() == "udp";
    UniqueFd s(
        ::socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const char* call = "socket";
    bool ok = s.valid();
    if (ok && !udp) {
      // A port that a container just released (connections in TIME_WAIT) is free to publish
      // again; a port that something listens on is still refused.
      int one = 1;
      ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    if (ok) {
      call = "bind";
      ok = ::bind(s.get(), reinterpret_cast<const sockaddr*>(&host), sizeof(host)) == 0;
    }
    if (ok && !udp) {
      call = "listen";
      ok = ::listen(s.get(), SOMAXCONN) == 0;
    }
    if (!ok) {
      const int err = errno;
      Close();
      return absl::FailedPreconditionError(
          err == EADDRINUSE ? absl::StrCat("port ", Name(p), " is already in use (", call, ": ",
                                           std::strerror(err), ")")
                            : absl::StrCat("cannot publish port ", Name(p), " (", call, ": ",
                                           std::strerror(err), ")"));
    }
    sockaddr_in got{};
    socklen_t len = sizeof(got);
    ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&got), &len);
    v1::PortForward* b = out.Add();
    *b = p;
    b->set_host_ip(Ip(got.sin_addr));
    b->set_host_port(ntohs(got.sin_port));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = s.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, s.get(), &ev);
    Listener& l = listeners_[s.get()];
    l.udp = udp;
    l.target = target;
    l.fd = std::move(s);
  }
  bound->MergeFrom(out);
  return absl::OkStatus();
}

void PortForwarder::OnReady() {
  if (!epoll_) return;
  epoll_event events[32];
  const int n = ::epoll_wait(epoll_.get(), events, 32, 0);
  for (int i = 0; i < n && epoll_; ++i) {
    const int fd = events[i].data.fd;
    if (fd == timer_.get()) {
      OnTimer();
    } else if (auto l = listeners_.find(fd); l != listeners_.end()) {
      if (l->second.udp) {
        OnDatagram(l->second);
      } else {
        OnAccept(l->second);
      }
    } else if (auto r = relays_.find(fd); r != relays_.end()) {
      Pump(std::shared_ptr<Relay>(r->second));  // a copy: Pump may drop the relay
    } else if (auto f = flows_.find(fd); f != flows_.end()) {
      OnReply(f->second);
    }
  }
}

void PortForwarder::OnAccept(Listener& l) {
  for (int i = 0; i < kAcceptsPerWakeup; ++i) {
    UniqueFd client(::accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!client) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The connection waits in the backlog; epoll would report it again at once. Listen
        // again when a connection or flow closes, or at the next tick.
        PauseListeners(true);
        return;
      }
      if (Transient(errno)) return;
      continue;  // ECONNABORTED and the like: that one is gone, others may wait
    }
    if (relay_count_ >= limits_.max_connections) {
      SetReset(client.get());  // refused: closed with a reset
      continue;
    }
    UniqueFd upstream(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!upstream) {
      SetReset(client.get());
      continue;
    }
    int one = 1;
    ::setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::setsockopt(upstream.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (::connect(upstream.get(), reinterpret_cast<const sockaddr*>(&l.target), sizeof(l.target)) !=
            0 &&
        errno != EINPROGRESS) {
      SetReset(client.get());  // nothing listens in the container (yet)
      continue;
    }
    void* mem = ::mmap(nullptr, 2 * limits_.buffer, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
      SetReset(client.get());
      continue;
    }
    auto r = std::make_shared<Relay>(limits_.buffer);
    r->mem = static_cast<char*>(mem);
    r->fd[0] = std::move(client);
    r->fd[1] = std::move(upstream);
    relays_[r->fd[0].get()] = r;
    relays_[r->fd[1].get()] = r;
    ++relay_count_;
    Pump(r);
  }
}

void PortForwarder::Pump(const std::shared_ptr<Relay>& rp) {
  Relay& r = *rp;
  if (r.connecting) {
    // Connected when the socket turns writable; an event on the client may come first.
    pollfd p{.fd = r.fd[1].get(), .events = POLLOUT, .revents = 0};
    if (::poll(&p, 1, 0) == 1) {
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(r.fd[1].get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return Drop(r, /*reset=*/true);  // ECONNREFUSED: nothing listens (yet)
      r.connecting = false;
    }
  }
  for (int round = 0; round < kRelayRounds; ++round) {
    bool progress = false;
    for (int from = 0; from < 2; ++from) {
      const int to = 1 - from;
      // Until connected: only the client is read (into its buffer), nothing is written.
      if (r.connecting && from == 1) continue;
      char* buf = r.buf(from);
      while (!r.connecting && r.start[from] < r.end[from]) {
        ssize_t n = ::send(r.fd[to].get(), buf + r.start[from], r.end[from] - r.start[from],
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
          r.start[from] += static_cast<size_t>(n);
          progress = true;
        } else if (n < 0 && errno == EINTR) {
          continue;
        } else if (n < 0 && errno == EAGAIN) {
          break;
        } else {
          return Drop(r, /*reset=*/true);  // the receiver is gone (EPIPE, ECONNRESET)
        }
      }
      if (r.start[from] == r.end[from]) r.start[from] = r.end[from] = 0;
      if (!r.eof[from] && r.end[from] - r.start[from] < r.cap) {
        if (r.end[from] == r.cap) {
          std::memmove(buf, buf + r.start[from], r.end[from] - r.start[from]);
          r.end[from] -= r.start[from];
          r.start[from] = 0;
        }
        ssize_t n = ::recv(r.fd[from].get(), buf + r.end[from], r.cap - r.end[from], MSG_DONTWAIT);
        if (n > 0) {
          r.end[from] += static_cast<size_t>(n);
          progress = true;
        } else if (n == 0) {
          r.eof[from] = true;
          progress = true;
        } else if (!Transient(errno)) {
          return Drop(r, /*reset=*/true);  // ECONNRESET and the like: reset the other side too
        }
      }
      // The EOF goes on once everything before it is out. Here, not on a later round: an EOF
      // read with nothing left to write leaves nothing for epoll to wake this relay up for.
      if (r.eof[from] && r.end[from] == 0 && !r.shut[to] && !r.connecting) {
        ::shutdown(r.fd[to].get(), SHUT_WR);
        r.shut[to] = true;
      }
    }
    if (!progress) break;
  }
  if (r.shut[0] && r.shut[1]) return Drop(r, /*reset=*/false);  // both directions are done
  for (int side = 0; side < 2; ++side) {
    uint32_t events = 0;
    if (r.connecting) {
      events = side == 1                       ? uint32_t{EPOLLOUT}
               : !r.eof[0] && r.end[0] < r.cap ? uint32_t{EPOLLIN}
                                               : 0u;
    } else {
      if (!r.eof[side] && r.end[side] - r.start[side] < r.cap) events |= EPOLLIN;
      if (r.start[1 - side] < r.end[1 - side]) events |= EPOLLOUT;
    }
    Want(r, side, events);
  }
}

void PortForwarder::Want(Relay& r, int side, uint32_t events) {
  if (r.watched[side] == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = r.fd[side].get();
  const int op = r.watched[side] == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
  ::epoll_ctl(epoll_.get(), op, r.fd[side].get(), &ev);
  r.watched[side] = events;
}

void PortForwarder::Drop(Relay& r, bool reset) {
  for (int side = 0; side < 2; ++side) {
    const int fd = r.fd[side].get();
    if (reset) SetReset(fd);
    if (r.watched[side] != 0) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    r.watched[side] = 0;
    relays_.erase(fd);  // closed when the last reference to the relay goes
  }
  --relay_count_;
  PauseListeners(false);
}

void PortForwarder::OnDatagram(Listener& l) {
  char* buf = datagram;
  for (int i = 0; i < kDatagramsPerWakeup; ++i) {
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    ssize_t n = ::recvfrom(l.fd.get(), buf, kMaxDatagram, MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: all read
    }
    Flow* f = nullptr;
    if (auto it = flow_of_.find({l.fd.get(), from.sin_addr.s_addr, from.sin_port});
        it != flow_of_.end()) {
      f = &flows_.at(it->second);
    } else {
      f = NewFlow(l, from);
    }
    if (f == nullptr) continue;  // dropped, as UDP may be
    f->last = NowMs();
    ::send(f->fd.get(), buf, static_cast<size_t>(n), MSG_DONTWAIT);
  }
}

PortForwarder::Flow* PortForwarder::NewFlow(Listener& l, const sockaddr_in& client) {
  if (flows_.size() >= limits_.max_flows && !flows_.empty()) {
    auto oldest = flows_.begin();
    for (auto it = flows_.begin(); it != flows_.end(); ++it) {
      if (it->second.last < oldest->second.last) oldest = it;
    }
    DropFlow(oldest->first);
  }
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s || ::connect(s.get(), reinterpret_cast<const sockaddr*>(&l.target), sizeof(l.target)) != 0)
    return nullptr;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = s.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, s.get(), &ev);
  const int fd = s.get();
  Flow& f = flows_[fd];
  f.fd = std::move(s);
  f.listener = l.fd.get();
  f.client = client;
  flow_of_[{f.listener, client.sin_addr.s_addr, client.sin_port}] = fd;
  ArmTimer();
  return &f;
}

void PortForwarder::OnReply(Flow& f) {
  char* buf = datagram;
  for (int i = 0; i < kDatagramsPerWakeup; ++i) {
    ssize_t n = ::recv(f.fd.get(), buf, kMaxDatagram, MSG_DONTWAIT);
    if (n < 0) {
      // ECONNREFUSED: an ICMP port unreachable for an earlier datagram (nothing listens in
      // the container yet). The flow stays; that datagram is lost, as UDP allows.
      if (errno == EINTR || errno == ECONNREFUSED) continue;
      return;
    }
    f.last = NowMs();
    ::sendto(f.listener, buf, static_cast<size_t>(n), MSG_DONTWAIT,
             reinterpret_cast<const sockaddr*>(&f.client), sizeof(f.client));
  }
}

void PortForwarder::DropFlow(int fd) {
  auto it = flows_.find(fd);
  if (it == flows_.end()) return;
  const Flow& f = it->second;
  flow_of_.erase({f.listener, f.client.sin_addr.s_addr, f.client.sin_port});
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  flows_.erase(it);
  PauseListeners(false);
}

void PortForwarder::ArmTimer() {
  if (timer_armed_) return;
  if (!timer_) {
    timer_.Reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!timer_) return;  // flows then expire only by eviction
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = timer_.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, timer_.get(), &ev);
  }
  const int64_t tick = limits_.flow_idle_ms / 4 > 0 ? limits_.flow_idle_ms / 4 : 1;
  itimerspec its{};
  its.it_interval.tv_sec = tick / 1000;
  its.it_interval.tv_nsec = (tick % 1000) * 1000000;
  its.it_value = its.it_interval;
  timer_armed_ = ::timerfd_settime(timer_.get(), 0, &its, nullptr) == 0;
}

void PortForwarder::OnTimer() {
  uint64_t ticks = 0;
  if (::read(timer_.get(), &ticks, sizeof(ticks)) < 0 && errno == EAGAIN) return;
  const int64_t now = NowMs();
  std::vector<int> idle;
  for (const auto& [fd, f] : flows_) {
    if (now - f.last >= limits_.flow_idle_ms) idle.push_back(fd);
  }
  for (int fd : idle) DropFlow(fd);
  PauseListeners(false);
  bool paused = false;
  for (const auto& [fd, l] : listeners_) paused |= l.paused;
  if (flows_.empty() && !paused) {
    itimerspec off{};
    ::timerfd_settime(timer_.get(), 0, &off, nullptr);  // an idle shim sleeps
    timer_armed_ = false;
  }
}

void PortForwarder::PauseListeners(bool paused) {
  for (auto& [fd, l] : listeners_) {
    if (l.udp || l.paused == paused) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_.get(), paused ? EPOLL_CTL_DEL : EPOLL_CTL_ADD, fd, &ev);
    l.paused = paused;
  }
  if (paused) ArmTimer();
}

}  // namespace berth::shim
