// The forwarder's limits and failures on loopback, driven by a loop in the test's own thread
// (no root needed). Relaying itself, TCP half-close and UDP echo through a running shim are in
// e2e/shim_test.cc.
#include "shim/ports.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <vector>

namespace berth::shim {
namespace {

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  return sa;
}

// A socket bound to 127.0.0.1 (port 0: any), listening if TCP.
UniqueFd Bound(int type, uint16_t port = 0) {
  UniqueFd s(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  sockaddr_in sa = Loopback(port);
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  if (type == SOCK_STREAM) {
    EXPECT_EQ(::listen(s.get(), 16), 0);
  }
  return s;
}

uint16_t PortOf(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

// A port that was free a moment ago.
uint16_t FreePort(int type) { return PortOf(Bound(type).get()); }

v1::PortForward Port(const std::string& protocol, uint32_t host_port, uint32_t container_port,
                     const std::string& host_ip = "127.0.0.1") {
  v1::PortForward p;
  p.set_protocol(protocol);
  p.set_host_ip(host_ip);
  p.set_host_port(host_port);
  p.set_container_ip("127.0.0.1");
  p.set_container_port(container_port);
  return p;
}

UniqueFd Connected(int type, uint16_t port) {
  UniqueFd s(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  sockaddr_in sa = Loopback(port);
  EXPECT_EQ(::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  return s;
}

// Runs the forwarder, and a UDP echo server if given, until `done` or 5 s.
bool RunUntil(PortForwarder& f, const std::function<bool()>& done, int udp_echo = -1,
              std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    pollfd p[2] = {{.fd = f.fd(), .events = POLLIN, .revents = 0},
                   {.fd = udp_echo, .events = POLLIN, .revents = 0}};
    ::poll(p, 2, 10);
    if (p[0].revents != 0) f.OnReady();
    if (p[1].revents != 0) {
      char buf[2048];
      sockaddr_in from{};
      socklen_t len = sizeof(from);
      ssize_t n =
          ::recvfrom(udp_echo, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n >= 0) {
        ::sendto(udp_echo, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    }
  }
  return done();
}

// The error a peer's reset leaves on a TCP socket (0 while nothing happened yet).
int ResetSeen(int fd) {
  char c;
  ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
  if (n < 0 && errno == EAGAIN) return 0;
  return n < 0 ? errno : -1;  // -1: EOF or data, not a reset
}

TEST(PortForwarder, MalformedMappingsAreInvalidArguments) {
  for (const v1::PortForward& p :
       {Port("sctp", 0, 80), Port("", 0, 80), Port("tcp", 0, 80, "::1"),
        Port("tcp", 0, 80, "localhost"), Port("tcp", 70000, 80), Port("udp", 0, 0)}) {
    PortForwarder f;
    PortList ports, bound;
    *ports.Add() = p;
    absl::Status st = f.Open(ports, &bound);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << p.ShortDebugString();
    EXPECT_EQ(f.fd(), -1);
    EXPECT_TRUE(bound.empty());
  }
}

TEST(PortForwarder, ATakenPortBindsNothingAndSaysWhichPort) {
  const uint16_t first = FreePort(SOCK_STREAM);
  UniqueFd taken = Bound(SOCK_STREAM);
  const uint16_t busy = PortOf(taken.get());
  PortForwarder f;
  PortList ports, bound;
  *ports.Add() = Port("tcp", first, 80);
  *ports.Add() = Port("udp", 0, 80);
  *ports.Add() = Port("tcp", busy, 80);
  absl::Status st = f.Open(ports, &bound);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), "port 127.0.0.1:" + std::to_string(busy) +
                              "/tcp is already in use (bind: Address already in use)");
  EXPECT_EQ(f.fd(), -1);
  EXPECT_TRUE(bound.empty());
  UniqueFd again = Bound(SOCK_STREAM, first);  // the first port was let go
  EXPECT_EQ(PortOf(again.get()), first);
}

TEST(PortForwarder, BindsWhatItReports) {
  PortForwarder f;
  PortList ports, bound;
  *ports.Add() = Port("tcp", 0, 80, "");
  *ports.Add() = Port("udp", 0, 53);
  ASSERT_TRUE(f.Open(ports, &bound).ok());
  ASSERT_EQ(bound.size(), 2);
  EXPECT_EQ(bound[0].host_ip(), "0.0.0.0");
  EXPECT_GT(bound[0].host_port(), 0u);
  EXPECT_EQ(bound[0].container_port(), 80u);
  EXPECT_EQ(bound[1].protocol(), "udp");
  EXPECT_EQ(bound[1].host_ip(), "127.0.0.1");
  EXPECT_GT(bound[1].host_port(), 0u);
  f.Close();
  EXPECT_EQ(f.fd(), -1);
  UniqueFd again = Bound(SOCK_STREAM, static_cast<uint16_t>(bound[0].host_port()));
  EXPECT_EQ(PortOf(again.get()), bound[0].host_port()) << "closed ports are free";
}

TEST(PortForwarder, ConnectionsBeyondTheCapAndFailedConnectsAreReset) {
  UniqueFd server = Bound(SOCK_STREAM);
  PortForwarder f(PortLimits{.max_connections = 2});
  PortList ports, bound;
  *ports.Add() = Port("tcp", 0, PortOf(server.get()));
  *ports.Add() = Port("tcp", 0, FreePort(SOCK_STREAM));  // nothing listens there
  ASSERT_TRUE(f.Open(ports, &bound).ok());
  const uint16_t port = static_cast<uint16_t>(bound[0].host_port());
  UniqueFd a = Connected(SOCK_STREAM, port);
  UniqueFd b = Connected(SOCK_STREAM, port);
  ASSERT_TRUE(RunUntil(f, [&] { return f.connections() == 2; }));
  UniqueFd c = Connected(SOCK_STREAM, port);
  EXPECT_TRUE(RunUntil(f, [&] { return ResetSeen(c.get()) == ECONNRESET; }));
  EXPECT_EQ(f.connections(), 2u);
  EXPECT_EQ(ResetSeen(a.get()), 0) << "the first two stay";

  // A reset from the client closes its relay (a FIN alone would leave it half-open).
  linger reset{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(a.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  a.Reset();
  ASSERT_TRUE(RunUntil(f, [&] { return f.connections() < 2; }));
  UniqueFd d = Connected(SOCK_STREAM, port);
  ASSERT_TRUE(RunUntil(f, [&] { return f.connections() == 2; })) << "room again";
  EXPECT_EQ(ResetSeen(d.get()), 0);

  UniqueFd refused = Connected(SOCK_STREAM, static_cast<uint16_t>(bound[1].host_port()));
  EXPECT_TRUE(RunUntil(f, [&] { return ResetSeen(refused.get()) == ECONNRESET; }))
      << "a failed connect to the container resets the client";
  EXPECT_EQ(f.connections(), 2u);
}

TEST(PortForwarder, UdpFlowsAreCappedAndExpireWhenIdle) {
  UniqueFd echo = Bound(SOCK_DGRAM);
  PortForwarder f(PortLimits{.max_flows = 2, .flow_idle_ms = 200});
  PortList ports, bound;
  *ports.Add() = Port("udp", 0, PortOf(echo.get()));
  ASSERT_TRUE(f.Open(ports, &bound).ok());
  const uint16_t port = static_cast<uint16_t>(bound[0].host_port());
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(Connected(SOCK_DGRAM, port));
    const std::string msg = "ping-" + std::to_string(i);
    ASSERT_EQ(::send(clients.back().get(), msg.data(), msg.size(), 0),
              static_cast<ssize_t>(msg.size()));
    std::string got;
    ASSERT_TRUE(RunUntil(
        f,
        [&] {
          char buf[64];
          ssize_t n = ::recv(clients.back().get(), buf, sizeof(buf), MSG_DONTWAIT);
          if (n > 0) got.assign(buf, static_cast<size_t>(n));
          return !got.empty();
        },
        echo.get()));
    EXPECT_EQ(got, msg) << "each client gets its own replies";
    EXPECT_EQ(f.flows(), std::min<size_t>(i + 1, 2)) << "the oldest flow makes room";
  }
  EXPECT_TRUE(RunUntil(
      f, [&] { return f.flows() == 0; }, echo.get()))
      << "idle flows expire";
}

}  // namespace
}  // namespace berth::shim
