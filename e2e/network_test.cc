// Container networking through the CLI against a real berthd: a bridge of the test's own (its
// name and subnet are the test's, so parallel tests never share one), published TCP and UDP
// ports forwarded by the shim, user-defined networks with names, --network none, and the
// errors a user meets. Traffic stays on loopback and the test's bridge. Needs root.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "e2e/harness/daemon.h"
#include "e2e/harness/engine.h"
#include "e2e/harness/process.h"
#include "services/network/netlink.h"

namespace berth::e2e {
namespace {

namespace tpb = berth::services::tasks::v1;

const std::string kUdpEcho = Runfile("e2e/fixtures/udp_echo");

// GET / from 127.0.0.1:port; "" when nothing answers.
std::string HttpGet(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string got;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
    const std::string req = "GET /index.html HTTP/1.0\r\n\r\n";
    (void)!write(fd, req.data(), req.size());
    char buf[4096];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 2000) <= 0) break;
      const ssize_t n = read(fd, buf, sizeof(buf));
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return got;
}

std::string UdpRoundTrip(uint16_t port, const std::string& message) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sendto(fd, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  std::string got;
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 1000) > 0) {
    char buf[2048];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) got.assign(buf, static_cast<size_t>(n));
  }
  close(fd);
  return got;
}

class NetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    const unsigned random = rd();
    bridge_ = absl::StrCat("bt", random % 100000);
    const std::string subnet =
        absl::StrCat("10.", 200 + random % 50, ".", (random >> 8) % 250, ".0/24");
    daemon_ = std::make_unique<Engine>(EngineOptions{
        .prefix = "berth-net",
        .config = absl::StrCat("bridge_name: ", bridge_, "\nbridge_subnet: ", subnet, "\n"),
        .flags = {"--default-network", "bridge"}});
    ASSERT_TRUE(daemon_->started()) << daemon_->Stderr();
    CommandResult r = daemon_->LoadImage("netbox", {"--add", kUdpEcho + ":/bin/udp-echo"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void TearDown() override {
    for (const auto& [name, id] : ids_) daemon_->ForceRemove(id);
    for (const std::string& net : networks_) Berth({"network", "rm", net});
    // The bridges this test's daemon made are the test's to remove.
    absl::StatusOr<network::Netlink> nl = network::Netlink::Open();
    if (nl.ok()) {
      if (absl::StatusOr<int> idx = nl->LinkIndex(bridge_); idx.ok()) {
        EXPECT_TRUE(nl->DeleteLink(*idx).ok());
      }
    }
  }

  CommandResult Berth(std::vector<std::string> args) { return daemon_->Berth(std::move(args)); }

  std::string Run(const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> cmd = {"run", "-d", "--name", name};
    cmd.insert(cmd.end(), args.begin(), args.end());
    CommandResult r = Berth(cmd);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code == 0) ids_[name] = std::string(absl::StripAsciiWhitespace(r.out));
    return ids_[name];
  }

  void Stop(const std::string& name) {
    auto tasks = tpb::Tasks::NewStub(daemon_->Channel());
    tpb::KillRequest kill;
    kill.set_container_id(ids_[name]);
    kill.set_signal(SIGKILL);
    kill.set_all(true);
    google::protobuf::Empty e;
    tasks->Kill(TestDaemon::Context().get(), kill, &e);
    tpb::WaitRequest wait;
    wait.set_container_id(ids_[name]);
    tpb::WaitResponse w;
    auto ctx = TestDaemon::Context();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    tasks->Wait(ctx.get(), wait, &w);
  }

  std::unique_ptr<Engine> daemon_;
  std::string bridge_;
  std::map<std::string, std::string> ids_;
  std::vector<std::string> networks_;
};

TEST_F(NetworkTest, PublishedTcpPortServesAFileAndIsFreedOnStop) {
  const auto port = static_cast<uint16_t>(FreeLoopbackPort(SOCK_STREAM));
  Run("web", {"-p", absl::StrCat("127.0.0.1:", port, ":80"), "netbox", "sh", "-c",
              "mkdir /www && echo hello-from-httpd > /www/index.html && "
              "exec httpd -f -p 80 -h /www"});
  std::string page;
  for (int i = 0; i < 100 && !absl::StrContains(page, "hello-from-httpd"); ++i) {
    page = HttpGet(port);
    if (!absl::StrContains(page, "hello-from-httpd")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(absl::StrContains(page, "hello-from-httpd")) << page;
  CommandResult r = Berth({"port", "web"});
  EXPECT_EQ(r.out, absl::StrCat("80/tcp -> 127.0.0.1:", port, "\n")) << r.err;
  // The container sees its own address on eth0 and the gateway as its default route.
  r = Berth({"exec", "web", "ip", "-4", "route"});
  EXPECT_TRUE(absl::StrContains(r.out, "default via")) << r.out << r.err;

  Stop("web");
  // As a server would: SO_REUSEADDR, since our own connections may linger in TIME_WAIT.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool freed = false;
  for (int i = 0; i < 50 && !freed; ++i) {
    freed = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
    if (!freed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  close(fd);
  EXPECT_TRUE(freed) << "port " << port << " is still bound after the container stopped";
}

TEST_F(NetworkTest, UdpIsForwardedAndARandomHostPortIsReported) {
  Run("udp", {"-p", "127.0.0.1::9000/udp", "netbox", "udp-echo", "9000"});
  std::string mapping;
  for (int i = 0; i < 50 && mapping.empty(); ++i) {
    mapping = std::string(absl::StripAsciiWhitespace(Berth({"port", "udp", "9000/udp"}).out));
    if (mapping.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(absl::StartsWith(mapping, "127.0.0.1:")) << mapping;
  const int port = std::stoi(mapping.substr(mapping.find(':') + 1));
  ASSERT_GT(port, 0);
  std::string echoed;
  for (int i = 0; i < 50 && echoed.empty(); ++i) echoed = UdpRoundTrip(port, "ping");
  EXPECT_EQ(echoed, "echo:ping");
}

TEST_F(NetworkTest, ContainersOnAUserNetworkReachEachOtherByName) {
  CommandResult r = Berth({"network", "create", "testnet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  networks_.push_back("testnet");
  EXPECT_EQ(std::string(absl::StripAsciiWhitespace(r.out)).size(), 64u);
  Run("server",
      {"--network", "testnet", "netbox", "sh", "-c",
       "mkdir /www && echo served-by-name > /www/index.html && exec httpd -f -p 80 -h /www"});
  Run("client", {"--network", "testnet", "netbox", "sleep", "1000"});
  std::string got;
  for (int i = 0; i < 50 && !absl::StrContains(got, "served-by-name"); ++i) {
    got = Berth({"exec", "client", "wget", "-q", "-O", "-", "http://server/index.html"}).out;
    if (!absl::StrContains(got, "served-by-name")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(absl::StrContains(got, "served-by-name")) << got;

  r = Berth({"network", "ls"});
  EXPECT_TRUE(absl::StrContains(r.out, "testnet")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "bridge")) << r.out;
  r = Berth({"network", "inspect", "testnet"});
  EXPECT_TRUE(absl::StrContains(r.out, "\"Name\": \"server\"")) << r.out;
  // In use: refused, naming who uses it.
  r = Berth({"network", "rm", "testnet"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "active endpoints")) << r.err;
}

TEST_F(NetworkTest, NetworkNoneHasOnlyLoopback) {
  CommandResult r =
      Berth({"run", "--rm", "--network", "none", "netbox", "sh", "-c", "ls /sys/class/net"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "lo\n");
  r = Berth({"run", "--rm", "netbox", "sh", "-c", "ls /sys/class/net | sort | tr '\\n' ' '"});
  EXPECT_EQ(r.out, "eth0 lo ") << r.err;
}

TEST_F(NetworkTest, ClearErrorsForATakenPortAnUnknownNetworkAndABadSpec) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  const uint16_t taken = ntohs(sa.sin_port);
  CommandResult r =
      Berth({"run", "--rm", "-p", absl::StrCat("127.0.0.1:", taken, ":80"), "netbox", "true"});
  close(fd);
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(absl::StrContains(r.err, "already in use")) << r.err;

  r = Berth({"run", "--rm", "--network", "nosuchnet", "netbox", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(absl::StrContains(r.err, "network nosuchnet not found")) << r.err;

  r = Berth({"run", "--rm", "-p", "99999:80", "netbox", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(absl::StrContains(r.err, "invalid port")) << r.err;
  r = Berth({"run", "--rm", "--network", "none", "-p", "80", "netbox", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(absl::StrContains(r.err, "conflicting options")) << r.err;
}

}  // namespace
}  // namespace berth::e2e
