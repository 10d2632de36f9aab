// berthd API access: the unix socket's mode and group, TCP off by default and only with mutual TLS.
#include <dirent.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "berth/services/version/v1/version.grpc.pb.h"
#include "e2e/harness/certs.h"
#include "e2e/harness/daemon.h"
#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

namespace vpb = berth::services::version::v1;

const std::string kBerth = Runfile("ctl/berth");
const std::string kBerthd = Runfile("services/daemon/berthd");

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

// ---------------------------------------------------------------------------------------------
// The unix socket

// connect(2) to `path` from a child that has become `uid`, with primary group `gid` and no
// supplementary groups: 0 when it connected, else the errno. A raw connect, so that nothing
// but the socket's owner, group and mode decides.
int ConnectAs(const std::string& path, uid_t uid, gid_t gid) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    int result = 0;
    if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0) {
      result = -2;
    } else {
      int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
      result = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0 ? 0 : errno;
    }
    (void)!write(pipefd[1], &result, sizeof(result));
    _exit(0);
  }
  close(pipefd[1]);
  int result = -1;
  if (read(pipefd[0], &result, sizeof(result)) != sizeof(result)) result = -1;
  close(pipefd[0]);
  waitpid(pid, nullptr, 0);
  return result;
}

// The daemon's socket directory must be reachable by others (the state dir is 0711, but the
// test's temporary parent is 0700): then only the socket itself decides.
void OpenParents(const std::string& socket) {
  const std::string state = socket.substr(0, socket.rfind('/'));
  const std::string top = state.substr(0, state.rfind('/'));
  ASSERT_EQ(chmod(top.c_str(), 0711), 0);
}

TEST(UnixSocket, Is0660AndRootsOnlyByDefault) {
  TestDaemon d;
  ASSERT_TRUE(d.started()) << d.Stderr();
  OpenParents(d.socket());
  struct stat st;
  ASSERT_EQ(stat(d.socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 0u);
  EXPECT_EQ(ConnectAs(d.socket(), 0, 0), 0);
  EXPECT_EQ(ConnectAs(d.socket(), kNobody, kNogroup), EACCES);
}

TEST(UnixSocket, SocketGroupMayConnectAndNoOneElse) {
  ShortTempDir tmp("berth-sec");
  const std::string config = tmp.path() + "/config.yaml";
  std::ofstream(config) << "socket_group: nogroup\n";
  TestDaemon d({"--config", config});
  ASSERT_TRUE(d.started()) << d.Stderr();
  OpenParents(d.socket());
  struct stat st;
  ASSERT_EQ(stat(d.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, kNogroup);
  // nobody in nogroup may; nobody in another group (daemon, gid 1) may not.
  EXPECT_EQ(ConnectAs(d.socket(), kNobody, kNogroup), 0);
  EXPECT_EQ(ConnectAs(d.socket(), kNobody, 1), EACCES);
  EXPECT_EQ(ConnectAs(d.socket(), 1, 1), EACCES);
}

TEST(UnixSocket, UnknownSocketGroupStopsTheDaemon) {
  ShortTempDir tmp("berth-sec");
  const std::string config = tmp.path() + "/config.yaml";
  std::ofstream(config) << "socket_group: no-such-group-here\n";
  Child daemon({kBerthd, "--config", config, "--root", tmp.path() + "/root", "--state",
                tmp.path() + "/state"});
  EXPECT_EQ(daemon.Wait(), 1);
  EXPECT_TRUE(absl::StrContains(daemon.Stderr(), "no group named \"no-such-group-here\""))
      << daemon.Stderr();
}

// ---------------------------------------------------------------------------------------------
// TCP

// Inodes of the TCP sockets listening in this network namespace.
std::set<std::string> ListeningTcpInodes() {
  std::set<std::string> out;
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipWhitespace());
      if (f.size() > 9 && f[3] == "0A") out.insert(f[9]);  // state 0A: LISTEN
    }
  }
  return out;
}

// Inodes of the sockets `pid` holds.
std::set<std::string> SocketInodes(pid_t pid) {
  std::set<std::string> out;
  const std::string dir = absl::StrCat("/proc/", pid, "/fd");
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    char target[256];
    ssize_t n = readlink((dir + "/" + e->d_name).c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;
    target[n] = 0;
    absl::string_view t(target);
    if (absl::ConsumePrefix(&t, "socket:[") && absl::ConsumeSuffix(&t, "]")) {
      out.insert(std::string(t));
    }
  }
  closedir(d);
  return out;
}

TEST(Tcp, OffByDefault) {
  ShortTempDir tmp("berth-sec");
  Child daemon({kBerthd, "--root", tmp.path() + "/root", "--state", tmp.path() + "/state"});
  ASSERT_TRUE(WaitForListener(tmp.path() + "/state/berthd.sock", daemon)) << daemon.Stderr();
  const std::set<std::string> listening = ListeningTcpInodes();
  const std::set<std::string> held = SocketInodes(daemon.pid());
  ASSERT_FALSE(held.empty());
  for (const std::string& inode : held) {
    EXPECT_EQ(listening.count(inode), 0u) << "berthd listens on TCP (socket inode " << inode << ")";
  }
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Version over `creds`: the status code, with a deadline so a refused handshake fails fast.
grpc::StatusCode VersionOver(const std::string& target,
                             std::shared_ptr<grpc::ChannelCredentials> creds) {
  auto stub = vpb::Version::NewStub(grpc::CreateChannel(target, creds));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  google::protobuf::Empty req;
  vpb::VersionResponse resp;
  return stub->Version(&ctx, req, &resp).error_code();
}

TEST(Tcp, RequiresAClientCertificateFromTheConfiguredCa) {
  ShortTempDir tmp("berth-sec");
  const std::string d = tmp.path();
  const std::string config = MakeTlsFiles(d);
  const std::string port = std::to_string(FreeLoopbackPort());
  Child daemon({kBerthd, "--config", config, "--root", d + "/root", "--state", d + "/state",
                "--address", "tcp://127.0.0.1:" + port});
  const std::string target = "127.0.0.1:" + port;

  auto tls = [&](const std::string& cert) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Slurp(d + "/ca.pem");
    if (!cert.empty()) {
      o.pem_cert_chain = Slurp(d + "/" + cert + ".pem");
      o.pem_private_key = Slurp(d + "/" + cert + "-key.pem");
    }
    return grpc::SslCredentials(o);
  };
  grpc::StatusCode ok = grpc::StatusCode::UNAVAILABLE;
  for (int i = 0; i < 100 && ok != grpc::StatusCode::OK && daemon.Running(); ++i) {
    ok = VersionOver(target, tls("client"));
    if (ok != grpc::StatusCode::OK) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(ok, grpc::StatusCode::OK) << daemon.Stderr();

  EXPECT_EQ(VersionOver(target, tls("")), grpc::StatusCode::UNAVAILABLE) << "no client cert";
  EXPECT_EQ(VersionOver(target, tls("intruder")), grpc::StatusCode::UNAVAILABLE) << "rogue CA";
  EXPECT_EQ(VersionOver(target, grpc::InsecureChannelCredentials()), grpc::StatusCode::UNAVAILABLE)
      << "plaintext";
  // The CLI, with the right certificate, works; it will not even try without one.
  CommandResult r =
      RunCommand({kBerth, "-H", "tcp://" + target, "--tlscacert", d + "/ca.pem", "--tlscert",
                  d + "/client.pem", "--tlskey", d + "/client-key.pem", "version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand({kBerth, "-H", "tcp://" + target, "--tlscacert", d + "/ca.pem", "version"});
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace berth::e2e
