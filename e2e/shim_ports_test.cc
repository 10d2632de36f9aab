// berth-shim published ports: TCP and UDP relayed on loopback, taken and freed ports. Needs root.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "e2e/shim_fixture.h"

namespace berth::e2e {
namespace {

// ---- published ports ----

// A socket on 127.0.0.1 (port 0: any free one), listening if TCP; -1 if the bind fails.
int BindLoopback(int type, uint16_t port = 0, bool reuse = false) {
  int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  int one = 1;
  if (reuse) setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  if (bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
      (type == SOCK_STREAM && listen(s, 16) != 0)) {
    close(s);
    return -1;
  }
  return s;
}

uint16_t PortOf(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

int ConnectLoopback(int type, uint16_t port) {
  int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  EXPECT_EQ(connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0) << strerror(errno);
  return s;
}

v1::PortForward Publish(const std::string& protocol, uint32_t host_port, uint32_t container_port) {
  v1::PortForward p;
  p.set_protocol(protocol);
  p.set_host_ip("127.0.0.1");
  p.set_host_port(host_port);
  p.set_container_ip("127.0.0.1");
  p.set_container_port(container_port);
  return p;
}

// The container's side of a published port, on the host's loopback (the forwarder only sees
// an address): TCP connections echoed as they come, and at EOF a trailer, which can only reach
// the client if its FIN came through and it reads after shutting down its own side; or UDP
// datagrams echoed to their sender. Serves on a thread of its own until destroyed.
class EchoServer {
 public:
  explicit EchoServer(int type) : fd_(BindLoopback(type)), thread_([this, type] { Run(type); }) {}
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return PortOf(fd_); }

 private:
  bool Readable(int fd) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    return poll(&p, 1, 50) > 0;
  }
  void Run(int type) {
    char buf[65536];
    while (!stop_) {
      if (!Readable(fd_)) continue;
      if (type == SOCK_DGRAM) {
        sockaddr_in from{};
        socklen_t len = sizeof(from);
        ssize_t n = recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n >= 0)
          sendto(fd_, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
        continue;
      }
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      size_t total = 0;
      while (!stop_) {
        if (!Readable(c)) continue;
        ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) break;
        total += static_cast<size_t>(n);
        for (ssize_t off = 0; off < n;) {
          ssize_t w = write(c, buf + off, static_cast<size_t>(n - off));
          if (w <= 0) break;
          off += w;
        }
      }
      const std::string trailer = "|eof after " + std::to_string(total) + " bytes";
      [[maybe_unused]] ssize_t w = write(c, trailer.data(), trailer.size());
      shutdown(c, SHUT_WR);
      Readable(c);  // the client's close, so that this side does not reset it
      close(c);
    }
  }
  int fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// 4 MiB through a published port while reading the echo concurrently (the forwarder's 64 KiB
// per direction fill up and drain), then half-close: the client's FIN reaches the server, and
// what the server sends after it still reaches the client, then its EOF.
TEST_F(Shim, PublishedTcpPortRelaysMegabytesAndHalfCloses) {
  EchoServer echo(SOCK_STREAM);
  BusyboxBundle b = Bundle({"sleep", "1000"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  v1::Request create = Create(b);
  *create.mutable_create()->add_ports() = Publish("tcp", 0, echo.port());
  v1::Response created = c.Call(create);
  ASSERT_EQ(created.code(), 0) << created.message();
  ASSERT_EQ(created.create().ports_size(), 1);
  const v1::PortForward& bound = created.create().ports(0);
  EXPECT_EQ(bound.protocol(), "tcp");
  EXPECT_EQ(bound.host_ip(), "127.0.0.1");
  EXPECT_GT(bound.host_port(), 0u) << "port 0 comes back as the one bound";
  EXPECT_EQ(bound.container_ip(), "127.0.0.1");
  EXPECT_EQ(bound.container_port(), echo.port());

  constexpr size_t kBytes = 4 << 20;
  std::string payload(kBytes, '\0');
  for (size_t i = 0; i < kBytes; ++i) payload[i] = static_cast<char>((i * 7 + i / 65536) & 0xff);
  int client = ConnectLoopback(SOCK_STREAM, static_cast<uint16_t>(bound.host_port()));
  fds_.push_back(client);
  std::thread writer([&] {
    for (size_t off = 0; off < kBytes;) {
      ssize_t n = write(client, payload.data() + off, std::min<size_t>(kBytes - off, 100000));
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    shutdown(client, SHUT_WR);
  });
  Read got = ReadFd(client, "", std::chrono::seconds(60));
  writer.join();
  EXPECT_TRUE(got.eof) << "the server's FIN comes through after the client's";
  const std::string trailer = "|eof after " + std::to_string(kBytes) + " bytes";
  ASSERT_EQ(got.data.size(), kBytes + trailer.size());
  EXPECT_TRUE(got.data.compare(0, kBytes, payload) == 0) << "every byte, in order";
  EXPECT_EQ(got.data.substr(kBytes), trailer);

  // A short exchange on a second connection: nothing of the first one lingers.
  int second = ConnectLoopback(SOCK_STREAM, static_cast<uint16_t>(bound.host_port()));
  fds_.push_back(second);
  ASSERT_EQ(write(second, "hello", 5), 5);
  shutdown(second, SHUT_WR);
  Read r = ReadFd(second);
  EXPECT_TRUE(r.eof);
  EXPECT_EQ(r.data, "hello|eof after 5 bytes");
  Finish(c, *shim);
}

TEST_F(Shim, PublishedUdpPortRelaysDatagramsPerClient) {
  EchoServer echo(SOCK_DGRAM);
  BusyboxBundle b = Bundle({"sleep", "1000"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  v1::Request create = Create(b);
  *create.mutable_create()->add_ports() = Publish("udp", 0, echo.port());
  v1::Response created = c.Call(create);
  ASSERT_EQ(created.code(), 0) << created.message();
  ASSERT_EQ(created.create().ports_size(), 1);
  EXPECT_EQ(created.create().ports(0).protocol(), "udp");
  const uint16_t port = static_cast<uint16_t>(created.create().ports(0).host_port());
  ASSERT_GT(port, 0);

  // Two clients, interleaved: each gets back its own datagrams, whole.
  int a = ConnectLoopback(SOCK_DGRAM, port), d = ConnectLoopback(SOCK_DGRAM, port);
  fds_.insert(fds_.end(), {a, d});
  for (int round = 0; round < 3; ++round) {
    for (int s : {a, d}) {
      const std::string msg = std::string(s == a ? "a" : "d") + std::to_string(round) +
                              std::string(1000 * static_cast<size_t>(round), 'x');
      std::string got;
      for (int attempt = 0; attempt < 3 && got.empty(); ++attempt) {  // UDP may drop one
        ASSERT_EQ(send(s, msg.data(), msg.size(), 0), static_cast<ssize_t>(msg.size()));
        pollfd p{.fd = s, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, 2000) != 1) continue;
        char buf[65536];
        ssize_t n = recv(s, buf, sizeof(buf), 0);
        ASSERT_GT(n, 0) << strerror(errno);
        got.assign(buf, static_cast<size_t>(n));
      }
      EXPECT_EQ(got, msg);
    }
  }
  Finish(c, *shim);
}

// A port already taken fails Create with a message naming it, before anything else happens:
// no runtime container, no log, and the other ports of the request let go again.
TEST_F(Shim, ATakenPortFailsCreateAndLeavesNothingBehind) {
  const int taken = BindLoopback(SOCK_STREAM);
  ASSERT_GE(taken, 0);
  fds_.push_back(taken);
  const int probe = BindLoopback(SOCK_STREAM);
  const uint16_t free_port = PortOf(probe);
  close(probe);
  BusyboxBundle b = Bundle({"sleep", "1000"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  v1::Request create = Create(b);
  *create.mutable_create()->add_ports() = Publish("tcp", free_port, 80);
  *create.mutable_create()->add_ports() = Publish("udp", 0, 53);
  *create.mutable_create()->add_ports() = Publish("tcp", PortOf(taken), 80);
  v1::Response refused = c.Call(create);
  EXPECT_EQ(refused.code(), kFailedPrecondition);
  EXPECT_EQ(refused.message(), "port 127.0.0.1:" + std::to_string(PortOf(taken)) +
                                   "/tcp is already in use (bind: Address already in use)");
  EXPECT_FALSE(refused.has_create());
  EXPECT_EQ(State(), "gone") << "the runtime never ran";
  EXPECT_NE(access((tmp_.path() + "/shim/log.json").c_str(), F_OK), 0) << "no log was opened";
  const int again = BindLoopback(SOCK_STREAM, free_port, /*reuse=*/true);
  EXPECT_GE(again, 0) << "the port bound before the failure is free again";
  close(again);
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_state(); })).code(),
            static_cast<int>(absl::StatusCode::kNotFound));

  // Without the taken port the same Create succeeds: nothing was left half made.
  create.mutable_create()->mutable_ports()->RemoveLast();
  v1::Response created = c.Call(create);
  ASSERT_EQ(created.code(), 0) << created.message();
  ASSERT_EQ(created.create().ports_size(), 2);
  EXPECT_EQ(created.create().ports(0).host_port(), free_port);
  Finish(c, *shim);
}

// The ports are published while the init lives; once it has exited they are free for anyone.
// A connection to a port whose container side does not listen is reset.
TEST_F(Shim, PublishedPortsCloseWhenTheInitExits) {
  const int probe = BindLoopback(SOCK_STREAM);
  const uint16_t nothing = PortOf(probe);  // nothing listens here once the probe closes
  close(probe);
  BusyboxBundle b = Bundle({"sleep", "1000"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  v1::Request create = Create(b);
  *create.mutable_create()->add_ports() = Publish("tcp", 0, nothing);
  *create.mutable_create()->add_ports() = Publish("udp", 0, nothing);
  v1::Response created = c.Call(create);
  ASSERT_EQ(created.code(), 0) << created.message();
  ASSERT_EQ(created.create().ports_size(), 2);
  const uint16_t tcp = static_cast<uint16_t>(created.create().ports(0).host_port());
  const uint16_t udp = static_cast<uint16_t>(created.create().ports(1).host_port());
  ASSERT_EQ(c.Call(Start()).code(), 0);

  EXPECT_LT(BindLoopback(SOCK_STREAM, tcp, /*reuse=*/true), 0) << "published: taken";
  EXPECT_LT(BindLoopback(SOCK_DGRAM, udp), 0) << "published: taken";
  int client = ConnectLoopback(SOCK_STREAM, tcp);
  fds_.push_back(client);
  pollfd p{.fd = client, .events = POLLIN, .revents = 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1);
  char byte;
  EXPECT_EQ(read(client, &byte, 1), -1);
  EXPECT_EQ(errno, ECONNRESET) << "the container side refused: the client is reset";

  ASSERT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_kill()->set_signal(SIGKILL); })).code(), 0);
  ASSERT_EQ(c.Call(Wait()).wait().exit_status(), 137u);
  const int tcp_again = BindLoopback(SOCK_STREAM, tcp, /*reuse=*/true);
  EXPECT_GE(tcp_again, 0) << "free again after the init exited";
  close(tcp_again);
  const int udp_again = BindLoopback(SOCK_DGRAM, udp);
  EXPECT_GE(udp_again, 0) << "free again after the init exited";
  close(udp_again);
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0) << shim->Stderr();
}

}  // namespace
}  // namespace berth::e2e
