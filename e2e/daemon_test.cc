// berthd end to end: the real binary on a temporary root, state and socket, driven by the
// real gRPC client and the real CLI.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>

#include "berth/services/introspection/v1/introspection.grpc.pb.h"
#include "berth/services/version/v1/version.grpc.pb.h"
#include "common/version.h"
#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

namespace intro = berth::services::introspection::v1;
namespace ver = berth::services::version::v1;

const std::string kBerthd = Runfile("services/daemon/berthd");
const std::string kBerth = Runfile("ctl/berth");

struct Dirs {
  ShortTempDir tmp{"berth-e2e"};
  std::string base = tmp.path();
  std::string root = base + "/root";
  std::string state = base + "/state";
  std::string sock = state + "/berthd.sock";
};

std::unique_ptr<Child> StartDaemon(const Dirs& d, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {kBerthd, "--root", d.root, "--state", d.state};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto child = std::make_unique<Child>(argv);
  EXPECT_TRUE(WaitForListener(d.sock, *child))
      << "berthd did not create its socket: " << child->Stderr();
  return child;
}

std::shared_ptr<grpc::Channel> Dial(const std::string& sock) {
  return grpc::CreateChannel("unix:" + sock, grpc::InsecureChannelCredentials());
}

TEST(Daemon, ServesVersionAndIntrospectionOnA0660Socket) {
  Dirs d;
  std::unique_ptr<Child> daemon = StartDaemon(d);

  struct stat st;
  ASSERT_EQ(stat(d.sock.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  auto channel = Dial(d.sock);
  ver::VersionResponse v;
  grpc::ClientContext vctx;
  ASSERT_TRUE(ver::Version::NewStub(channel)->Version(&vctx, {}, &v).ok());
  EXPECT_EQ(v.version(), kVersion);
  EXPECT_EQ(v.api_version(), "v1");
  EXPECT_EQ(v.os(), "linux");
  EXPECT_FALSE(v.kernel_version().empty());

  auto stub = intro::Introspection::NewStub(channel);
  intro::ServerResponse server;
  grpc::ClientContext sctx;
  ASSERT_TRUE(stub->Server(&sctx, {}, &server).ok());
  EXPECT_EQ(server.pid(), static_cast<uint32_t>(daemon->pid()));
  EXPECT_EQ(server.root(), d.root);
  EXPECT_EQ(server.state(), d.state);
  EXPECT_EQ(server.address(), "unix://" + d.sock);
  EXPECT_EQ(server.uuid().size(), 36u);

  intro::PluginsRequest req;
  req.add_filters("id==version");
  intro::PluginsResponse plugins;
  grpc::ClientContext pctx;
  ASSERT_TRUE(stub->Plugins(&pctx, req, &plugins).ok());
  ASSERT_EQ(plugins.plugins_size(), 1);
  EXPECT_EQ(plugins.plugins(0).status(), intro::PLUGIN_STATUS_OK);

  req.set_filters(0, "id~=(");
  grpc::ClientContext bctx;
  EXPECT_EQ(stub->Plugins(&bctx, req, &plugins).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(daemon->Stop(SIGTERM), 0) << daemon->Stderr();
}

TEST(Daemon, UuidSurvivesARestart) {
  Dirs d;
  std::string first;
  {
    auto daemon = StartDaemon(d);
    intro::ServerResponse s;
    grpc::ClientContext ctx;
    ASSERT_TRUE(intro::Introspection::NewStub(Dial(d.sock))->Server(&ctx, {}, &s).ok());
    first = s.uuid();
    ASSERT_EQ(daemon->Stop(SIGTERM), 0) << daemon->Stderr();
  }
  auto daemon = StartDaemon(d);
  intro::ServerResponse s;
  grpc::ClientContext ctx;
  ASSERT_TRUE(intro::Introspection::NewStub(Dial(d.sock))->Server(&ctx, {}, &s).ok());
  EXPECT_EQ(s.uuid(), first);
}

TEST(Daemon, SecondDaemonOnTheSameRootIsRefused) {
  Dirs d;
  auto first = StartDaemon(d);
  Dirs other;  // a different state dir and socket, but the same root
  Child second({kBerthd, "--root", d.root, "--state", other.state});
  EXPECT_EQ(second.Wait(), 1);
  EXPECT_NE(second.Stderr().find("another berthd (pid " + std::to_string(first->pid()) +
                                 ") is already using root " + d.root),
            std::string::npos)
      << second.Stderr();
  EXPECT_TRUE(first->Running());
}

TEST(Daemon, SigtermStopsCleanlyAndRemovesTheSocket) {
  Dirs d;
  auto daemon = StartDaemon(d);
  EXPECT_EQ(daemon->Stop(SIGTERM), 0) << daemon->Stderr();
  struct stat st;
  EXPECT_NE(stat(d.sock.c_str(), &st), 0) << "socket left behind";
  EXPECT_NE(daemon->Stderr().find("shutting down"), std::string::npos) << daemon->Stderr();
}

TEST(Daemon, StaleSocketFromACrashIsReplaced) {
  Dirs d;
  {
    auto daemon = StartDaemon(d);
    EXPECT_EQ(daemon->Stop(SIGKILL), 128 + SIGKILL);
  }
  struct stat st;
  ASSERT_EQ(stat(d.sock.c_str(), &st), 0) << "SIGKILL should leave the socket";
  auto daemon = StartDaemon(d);
  EXPECT_EQ(RunCommand({kBerth, "-H", "unix://" + d.sock, "version"}).exit_code, 0);
}

TEST(Daemon, BadConfigRefusesToStart) {
  Dirs d;
  std::string cfg = d.base + "/config.yaml";
  std::ofstream(cfg) << "root: " << d.root << "\nlog_levle: debug\n";
  Child daemon({kBerthd, "--config", cfg, "--state", d.state});
  EXPECT_EQ(daemon.Wait(), 1);
  EXPECT_NE(daemon.Stderr().find(cfg + ":2: unknown key \"log_levle\""), std::string::npos)
      << daemon.Stderr();

  std::ofstream(cfg) << "services: [version\n";
  Child malformed({kBerthd, "--config", cfg, "--state", d.state});
  EXPECT_EQ(malformed.Wait(), 1);
  EXPECT_NE(malformed.Stderr().find("malformed YAML"), std::string::npos) << malformed.Stderr();

  Child missing({kBerthd, "--config", d.base + "/nope.yaml", "--state", d.state});
  EXPECT_EQ(missing.Wait(), 1);
  EXPECT_NE(missing.Stderr().find(d.base + "/nope.yaml"), std::string::npos) << missing.Stderr();
  struct stat st;
  EXPECT_NE(stat(d.sock.c_str(), &st), 0);
}

TEST(Daemon, SplitLayoutReachesRemoteServicesOverTheirSockets) {
  // Daemon A hosts only version; daemon B hosts introspection and points at A for version.
  Dirs a, b;
  auto da = StartDaemon(a, {"--services", "version"});
  std::string cfg = b.base + "/config.yaml";
  std::ofstream(cfg) << "remote:\n  version: unix://" << a.sock << "\n";
  auto db = StartDaemon(b, {"--config", cfg, "--services", "introspection"});

  auto stub = intro::Introspection::NewStub(Dial(b.sock));
  auto services = [&] {
    intro::ServicesResponse r;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stub->Services(&ctx, {}, &r).ok());
    return r;
  };
  intro::ServicesResponse r = services();
  ASSERT_EQ(r.services_size(), 2);
  EXPECT_EQ(r.services(0).name(), "berth.services.version.v1.Version");
  EXPECT_FALSE(r.services(0).local());
  EXPECT_EQ(r.services(0).address(), "unix://" + a.sock);
  EXPECT_TRUE(r.services(0).reachable());
  EXPECT_TRUE(r.services(1).local());

  // B does not serve version itself.
  ver::VersionResponse v;
  grpc::ClientContext vctx;
  EXPECT_EQ(ver::Version::NewStub(Dial(b.sock))->Version(&vctx, {}, &v).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);

  ASSERT_EQ(da->Stop(SIGTERM), 0) << da->Stderr();
  EXPECT_FALSE(services().services(0).reachable());
}

TEST(Cli, VersionAndInfoTalkToTheDaemon) {
  Dirs d;
  auto daemon = StartDaemon(d);
  CommandResult v = RunCommand({kBerth, "-H", "unix://" + d.sock, "version"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("Client:\n Version:     " + std::string(kVersion)), std::string::npos);
  EXPECT_NE(v.out.find("Server:\n Version:     " + std::string(kVersion)), std::string::npos);

  CommandResult i = RunCommand({kBerth, "--host", "unix://" + d.sock, "-n", "tenant-a", "info"});
  EXPECT_EQ(i.exit_code, 0) << i.err;
  EXPECT_NE(i.out.find("Root Dir:    " + d.root), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("Namespace:   tenant-a"), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("berth.services.version.v1.Version"), std::string::npos) << i.out;
}

TEST(Cli, NoDaemonSaysSoAndExits125) {
  Dirs d;
  CommandResult r = RunCommand({kBerth, "-H", "unix://" + d.sock, "version"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.err, "berth: cannot connect to berthd at unix://" + d.sock + ": is it running?\n");
  r = RunCommand({kBerth, "-H", "unix://" + d.sock, "info"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("is it running?"), std::string::npos);
}

TEST(Cli, BadInvocationsExit125WithAHint) {
  CommandResult r = RunCommand({kBerth, "frobnicate"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("unknown command \"frobnicate\""), std::string::npos) << r.err;
  r = RunCommand({kBerth, "-n", "../etc", "info"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("invalid namespace"), std::string::npos) << r.err;
  r = RunCommand({kBerth, "-H", "tcp://127.0.0.1:1", "info"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("requires mutual TLS"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::e2e
