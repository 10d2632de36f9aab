// berthd's API security and the defaults a container gets, attacked from outside and checked
// from inside (docs/security.md lists these tests):
//
// - the unix socket is 0660, root's and `socket_group`'s; another uid outside the group cannot
//   connect;
// - TCP is off by default, and needs mutual TLS: no certificate, or one from another CA, or no
//   TLS at all, is refused;
// - namespaces isolate tenants: a client in one namespace neither sees nor touches another's
//   containers, tasks, images, content, snapshots, volumes or leases;
// - bad ids, names, paths and sizes in requests are INVALID_ARGUMENT before anything uses them;
// - `berth run` with no flags gives Docker's capability set, masked and read-only /proc paths
//   and a seccomp filter; --privileged, --security-opt and --cap-add/--cap-drop change exactly
//   what they say.
//
// Needs root.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/content/v1/content.grpc.pb.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "berth/services/leases/v1/leases.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "berth/services/version/v1/version.grpc.pb.h"
#include "berth/services/volumes/v1/volumes.grpc.pb.h"
#include "e2e/harness/certs.h"
#include "e2e/harness/daemon.h"
#include "e2e/harness/engine.h"
#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

namespace cpb = berth::services::containers::v1;
namespace ctpb = berth::services::content::v1;
namespace ipb = berth::services::images::v1;
namespace lpb = berth::services::leases::v1;
namespace spb = berth::services::snapshots::v1;
namespace tpb = berth::services::tasks::v1;
namespace vpb = berth::services::version::v1;
namespace volpb = berth::services::volumes::v1;

using Strings = std::vector<std::string>;

const std::string kBerth = Runfile("ctl/berth");
const std::string kBerthd = Runfile("services/daemon/berthd");
const std::string kProbe = Runfile("e2e/fixtures/seccomp_probe");

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

// ---------------------------------------------------------------------------------------------
// A daemon that runs containers, with the busybox image (and the seccomp probe) loaded.

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Engine>(EngineOptions{.prefix = "berth-sec"});
    ASSERT_TRUE(daemon_->started()) << daemon_->Stderr();
    CommandResult r = daemon_->MakeImage("busybox", {"--add", kProbe + ":/bin/seccomp-probe"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void TearDown() override {
    for (const auto& [ns, name] : started_) Berth({"-n", ns, "rm", "-f", name});
  }

  CommandResult Berth(std::vector<std::string> args) { return daemon_->Berth(std::move(args)); }

  void Load(const std::string& ns) {
    CommandResult r = Berth({"-n", ns, "load", "-q", "-i", daemon_->Archive("busybox")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // `berth run --rm [flags] busybox ARGS…`; stdout.
  std::string Run(std::vector<std::string> flags, std::vector<std::string> args) {
    std::vector<std::string> cmd = {"run", "--rm"};
    cmd.insert(cmd.end(), flags.begin(), flags.end());
    cmd.push_back("busybox");
    cmd.insert(cmd.end(), args.begin(), args.end());
    CommandResult r = Berth(cmd);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  std::unique_ptr<Engine> daemon_;
  std::vector<std::pair<std::string, std::string>> started_;  // (namespace, name) to remove
};

// ---------------------------------------------------------------------------------------------
// Namespaces

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& ns) {
  auto ctx = TestDaemon::Context(ns);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

using NamespaceTest = EngineTest;

TEST_F(NamespaceTest, ATenantNeitherSeesNorTouchesAnothersObjects) {
  const std::string a = "tenant-a", b = "tenant-b";
  Load(a);
  Load(b);  // b has its own busybox: what b may do with its own is not in question
  CommandResult r = Berth({"-n", a, "run", "-d", "--name", "secret", "busybox", "sh", "-c",
                           "echo a-private-line; exec sleep 600"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  started_.push_back({a, "secret"});
  const std::string id(absl::StripAsciiWhitespace(r.out));
  ASSERT_EQ(id.size(), 64u);
  ASSERT_EQ(Berth({"-n", a, "volume", "create", "vol-a"}).exit_code, 0);
  auto channel = daemon_->Channel();
  auto leases = lpb::Leases::NewStub(channel);
  lpb::CreateRequest lease_req;
  lease_req.set_id("lease-a");
  lpb::CreateResponse lease_resp;
  ASSERT_TRUE(leases->Create(Ctx(a).get(), lease_req, &lease_resp).ok());

  // The CLI, as tenant b: by id and by name, nothing of a's is there.
  for (const std::string& ref : {id, std::string("secret"), id.substr(0, 12)}) {
    for (std::vector<std::string> verb :
         std::vector<std::vector<std::string>>{{"inspect", ref},
                                               {"logs", ref},
                                               {"exec", ref, "true"},
                                               {"kill", ref},
                                               {"stop", "-t", "1", ref},
                                               {"pause", ref},
                                               {"rm", "-f", ref},
                                               {"rename", ref, "stolen"},
                                               {"top", ref}}) {
      verb.insert(verb.begin(), {"-n", b});
      CommandResult out = Berth(verb);
      EXPECT_NE(out.exit_code, 0) << absl::StrJoin(verb, " ") << ": " << out.out;
      EXPECT_FALSE(absl::StrContains(out.out, "a-private-line")) << absl::StrJoin(verb, " ");
    }
  }
  r = Berth({"-n", b, "ps", "-a", "-q", "--no-trunc"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(absl::StrContains(r.out, id)) << r.out;
  r = Berth({"-n", b, "volume", "ls", "-q"});
  EXPECT_FALSE(absl::StrContains(r.out, "vol-a")) << r.out;
  EXPECT_NE(Berth({"-n", b, "volume", "inspect", "vol-a"}).exit_code, 0);
  EXPECT_NE(Berth({"-n", b, "volume", "rm", "vol-a"}).exit_code, 0);
  Berth({"-n", b, "volume", "rm", "-f", "vol-a"});  // -f: no error for a missing volume
  EXPECT_EQ(Berth({"-n", b, "container", "prune", "-f"}).exit_code, 0);
  EXPECT_EQ(Berth({"-n", b, "volume", "prune", "-f", "-a"}).exit_code, 0);

  // The API, as tenant b.
  auto tasks = tpb::Tasks::NewStub(channel);
  google::protobuf::Empty empty;
  {
    tpb::GetRequest req;
    req.set_container_id(id);
    tpb::GetResponse resp;
    EXPECT_EQ(tasks->Get(Ctx(b).get(), req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
    tpb::KillRequest kill;
    kill.set_container_id(id);
    kill.set_signal(SIGKILL);
    EXPECT_EQ(tasks->Kill(Ctx(b).get(), kill, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
    tpb::ExecProcessRequest exec;
    exec.set_container_id(id);
    exec.set_exec_id("intrude");
    exec.set_spec(R"({"args":["true"],"cwd":"/"})");
    EXPECT_EQ(tasks->Exec(Ctx(b).get(), exec, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
    tpb::DeleteTaskRequest del;
    del.set_container_id(id);
    tpb::DeleteResponse dresp;
    EXPECT_EQ(tasks->Delete(Ctx(b).get(), del, &dresp).error_code(), grpc::StatusCode::NOT_FOUND);
    tpb::ListTasksRequest list;
    tpb::ListTasksResponse lresp;
    ASSERT_TRUE(tasks->List(Ctx(b).get(), list, &lresp).ok());
    for (const tpb::Process& p : lresp.tasks()) EXPECT_NE(p.container_id(), id);
    tpb::LogsRequest logs;
    logs.set_container_id(id);
    logs.set_stdout(true);
    logs.set_stderr(true);
    auto stream_ctx = Ctx(b);  // outlives the stream
    auto stream = tasks->Logs(stream_ctx.get(), logs);
    tpb::LogsResponse chunk;
    while (stream->Read(&chunk)) ADD_FAILURE() << "b read a log record of a's container";
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    auto containers = cpb::Containers::NewStub(channel);
    cpb::GetContainerRequest get;
    get.set_id(id);
    cpb::GetContainerResponse resp;
    EXPECT_EQ(containers->Get(Ctx(b).get(), get, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
    cpb::DeleteContainerRequest del;
    del.set_id(id);
    EXPECT_EQ(containers->Delete(Ctx(b).get(), del, &empty).error_code(),
              grpc::StatusCode::NOT_FOUND);
    // b may not create a record under a's id and so take it over: ids are per namespace.
  }
  {
    auto snapshots = spb::Snapshots::NewStub(channel);
    spb::StatSnapshotRequest stat;
    stat.set_key(id);
    spb::StatSnapshotResponse sresp;
    ASSERT_TRUE(snapshots->Stat(Ctx(a).get(), stat, &sresp).ok()) << "a's rootfs snapshot";
    EXPECT_EQ(snapshots->Stat(Ctx(b).get(), stat, &sresp).error_code(),
              grpc::StatusCode::NOT_FOUND);
    spb::MountsRequest mounts;
    mounts.set_key(id);
    spb::MountsResponse mresp;
    EXPECT_EQ(snapshots->Mounts(Ctx(b).get(), mounts, &mresp).error_code(),
              grpc::StatusCode::NOT_FOUND);
    spb::RemoveSnapshotRequest rm;
    rm.set_key(id);
    EXPECT_EQ(snapshots->Remove(Ctx(b).get(), rm, &empty).error_code(),
              grpc::StatusCode::NOT_FOUND);
    spb::ListSnapshotsRequest list;
    auto stream_ctx = Ctx(b);  // outlives the stream
    auto stream = snapshots->List(stream_ctx.get(), list);
    spb::ListSnapshotsResponse chunk;
    while (stream->Read(&chunk)) {
      for (const spb::Info& info : chunk.info()) EXPECT_NE(info.name(), id);
    }
    EXPECT_TRUE(stream->Finish().ok());
  }
  {
    lpb::ListRequest list;
    lpb::ListResponse lresp;
    ASSERT_TRUE(leases->List(Ctx(b).get(), list, &lresp).ok());
    for (const lpb::Lease& l : lresp.leases()) EXPECT_NE(l.id(), "lease-a");
    lpb::DeleteRequest del;
    del.set_id("lease-a");
    EXPECT_EQ(leases->Delete(Ctx(b).get(), del, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
    lpb::ListResourcesRequest res;
    res.set_id("lease-a");
    lpb::ListResourcesResponse rresp;
    EXPECT_EQ(leases->ListResources(Ctx(b).get(), res, &rresp).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    // Images: a's tag is a's. b deleting its own busybox leaves a's alone, and an image only a
    // has is invisible to b.
    ASSERT_EQ(Berth({"-n", a, "tag", "busybox", "only-a:1"}).exit_code, 0);
    auto images = ipb::Images::NewStub(channel);
    ipb::GetImageRequest get;
    get.set_name("docker.io/library/only-a:1");
    ipb::GetImageResponse gresp;
    ASSERT_TRUE(images->Get(Ctx(a).get(), get, &gresp).ok());
    const std::string config_digest = gresp.image().target().digest();
    EXPECT_EQ(images->Get(Ctx(b).get(), get, &gresp).error_code(), grpc::StatusCode::NOT_FOUND);
    ipb::DeleteImageRequest del;
    del.set_name("docker.io/library/only-a:1");
    EXPECT_EQ(images->Delete(Ctx(b).get(), del, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_NE(Berth({"-n", b, "rmi", "only-a:1"}).exit_code, 0);
    r = Berth({"-n", b, "images"});
    EXPECT_FALSE(absl::StrContains(r.out, "only-a")) << r.out;
    EXPECT_EQ(Berth({"-n", b, "rmi", "busybox"}).exit_code, 0);
    EXPECT_EQ(Berth({"-n", b, "image", "prune", "-a", "-f"}).exit_code, 0);
    // Content is stored once, but seen per namespace: b, having no image that uses it, sees
    // no such blob, and cannot delete a's.
    auto content = ctpb::Content::NewStub(channel);
    ctpb::InfoRequest info;
    info.set_digest(config_digest);
    ctpb::InfoResponse iresp;
    ASSERT_TRUE(content->Info(Ctx(a).get(), info, &iresp).ok());
    EXPECT_EQ(content->Info(Ctx(b).get(), info, &iresp).error_code(), grpc::StatusCode::NOT_FOUND);
    ctpb::DeleteContentRequest cdel;
    cdel.set_digest(config_digest);
    EXPECT_EQ(content->Delete(Ctx(b).get(), cdel, &empty).error_code(),
              grpc::StatusCode::NOT_FOUND);
    ctpb::ReadContentRequest read;
    read.set_digest(config_digest);
    auto stream_ctx = Ctx(b);  // outlives the stream
    auto stream = content->Read(stream_ctx.get(), read);
    ctpb::ReadContentResponse chunk;
    while (stream->Read(&chunk)) ADD_FAILURE() << "b read a's blob";
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }

  // a's things are all still there, and its container still runs.
  r = Berth({"-n", a, "inspect", "-f", "{{.State.Status}}", "secret"});
  EXPECT_EQ(absl::StripAsciiWhitespace(r.out), "running") << r.err;
  EXPECT_EQ(Berth({"-n", a, "volume", "inspect", "vol-a"}).exit_code, 0);
  r = Berth({"-n", a, "images"});
  EXPECT_TRUE(absl::StrContains(r.out, "only-a")) << r.out;
  r = Berth({"-n", a, "logs", "secret"});
  EXPECT_TRUE(absl::StrContains(r.out, "a-private-line")) << r.out << r.err;
  lpb::ListResponse lresp;
  ASSERT_TRUE(leases->List(Ctx(a).get(), lpb::ListRequest(), &lresp).ok());
  EXPECT_EQ(lresp.leases_size(), 1);
  EXPECT_EQ(Berth({"-n", a, "volume", "rm", "vol-a"}).exit_code, 0);
}

// ---------------------------------------------------------------------------------------------
// Validation

using ValidationTest = EngineTest;

// Over-long, traversing, NUL-carrying and separator-carrying names.
std::vector<std::string> BadNames() {
  return {"../escape",           "..", "a/../../b", "/abs", "a/b", std::string("nul\0byte", 8),
          std::string(300, 'x'), "",   "semi;colon"};
}

std::string Printable(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\0' ? std::string("\\0") : std::string(1, c);
  return out.size() > 40 ? out.substr(0, 40) + "…" : out;
}

TEST_F(ValidationTest, BadNamespacesAreRefused) {
  auto stub = cpb::Containers::NewStub(daemon_->Channel());
  for (const std::string& ns :
       Strings{"../etc", "a/b", "..", std::string(100, 'n'), "-lead", "a..b"}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("berth-namespace", ns);
    cpb::ListContainersRequest req;
    cpb::ListContainersResponse resp;
    EXPECT_EQ(stub->List(&ctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << ns;
  }
}

TEST_F(ValidationTest, BadIdsNamesPathsAndSizesAreInvalidArgument) {
  Load("default");
  auto channel = daemon_->Channel();
  google::protobuf::Empty empty;
  const grpc::StatusCode kInvalid = grpc::StatusCode::INVALID_ARGUMENT;

  auto containers = cpb::Containers::NewStub(channel);
  for (const std::string& bad : BadNames()) {
    cpb::CreateContainerRequest req;
    req.mutable_container()->set_id(bad);
    req.mutable_container()->set_image("docker.io/library/busybox:latest");
    req.mutable_container()->set_spec(R"({"ociVersion":"1.0.2"})");
    cpb::CreateContainerResponse resp;
    EXPECT_EQ(containers->Create(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "container id " << Printable(bad);
  }
  for (const std::string& bad : BadNames()) {
    if (bad.empty()) continue;  // no name is fine: the daemon picks one
    cpb::CreateContainerRequest req;
    req.mutable_container()->set_id(std::string(64, 'a'));
    req.mutable_container()->set_name(bad);
    req.mutable_container()->set_spec(R"({"ociVersion":"1.0.2"})");
    cpb::CreateContainerResponse resp;
    EXPECT_EQ(containers->Create(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "container name " << Printable(bad);
  }

  auto volumes = volpb::Volumes::NewStub(channel);
  for (const std::string& bad : BadNames()) {
    if (bad.empty()) continue;  // no name: an anonymous volume
    volpb::CreateVolumeRequest req;
    req.set_name(bad);
    volpb::CreateVolumeResponse resp;
    EXPECT_EQ(volumes->Create(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "volume " << Printable(bad);
    volpb::InspectVolumeRequest inspect;
    inspect.set_name(bad);
    volpb::InspectVolumeResponse iresp;
    const grpc::StatusCode code =
        volumes->Inspect(Ctx("default").get(), inspect, &iresp).error_code();
    EXPECT_TRUE(code == kInvalid || code == grpc::StatusCode::NOT_FOUND) << Printable(bad);
  }
  {
    volpb::CreateVolumeRequest req;
    req.set_name("sized");
    req.set_driver("local");
    (*req.mutable_options())["type"] = "tmpfs";
    (*req.mutable_options())["device"] = "tmpfs";
    (*req.mutable_options())["o"] = "size=-1";
    volpb::CreateVolumeResponse resp;
    grpc::Status st = volumes->Create(Ctx("default").get(), req, &resp);
    EXPECT_EQ(st.error_code(), kInvalid) << st.error_message();
  }

  auto leases = lpb::Leases::NewStub(channel);
  for (const std::string& bad : Strings{std::string("nul\0id", 6), std::string(300, 'l')}) {
    lpb::CreateRequest req;
    req.set_id(bad);
    lpb::CreateResponse resp;
    EXPECT_EQ(leases->Create(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "lease " << Printable(bad);
  }

  auto snapshots = spb::Snapshots::NewStub(channel);
  for (const std::string& bad : Strings{"../native", "a/b", "..", std::string("nul\0", 4)}) {
    spb::PrepareSnapshotRequest req;
    req.set_snapshotter(bad);
    req.set_key("k");
    spb::PrepareSnapshotResponse resp;
    const grpc::StatusCode code = snapshots->Prepare(Ctx("default").get(), req, &resp).error_code();
    EXPECT_TRUE(code == kInvalid || code == grpc::StatusCode::NOT_FOUND)
        << "snapshotter " << Printable(bad) << ": " << code;
  }
  for (const std::string& bad : Strings{std::string("nul\0key", 7), std::string(5000, 'k')}) {
    spb::PrepareSnapshotRequest req;
    req.set_key(bad);
    spb::PrepareSnapshotResponse resp;
    EXPECT_EQ(snapshots->Prepare(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "snapshot key " << Printable(bad);
  }

  auto content = ctpb::Content::NewStub(channel);
  for (const std::string& bad :
       Strings{"sha256:../../../etc/passwd", "sha256:" + std::string(64, 'g'), "md5:00", "",
               "sha256:" + std::string(63, 'a') + std::string("\0", 1)}) {
    ctpb::InfoRequest req;
    req.set_digest(bad);
    ctpb::InfoResponse resp;
    EXPECT_EQ(content->Info(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "digest " << Printable(bad);
    ctpb::ReadContentRequest read;
    read.set_digest(bad);
    auto stream_ctx = Ctx("default");  // outlives the stream
    auto stream = content->Read(stream_ctx.get(), read);
    ctpb::ReadContentResponse chunk;
    while (stream->Read(&chunk)) ADD_FAILURE() << "read a blob named " << Printable(bad);
    EXPECT_EQ(stream->Finish().error_code(), kInvalid) << "read digest " << Printable(bad);
  }
  {
    // A real blob, read with negative and absurd offsets and sizes.
    ipb::GetImageRequest get;
    get.set_name("docker.io/library/busybox:latest");
    ipb::GetImageResponse img;
    ASSERT_TRUE(ipb::Images::NewStub(channel)->Get(Ctx("default").get(), get, &img).ok());
    for (auto [offset, size] : std::vector<std::pair<int64_t, int64_t>>{
             {-1, 0}, {0, -5}, {INT64_MIN, 1}, {INT64_MAX, 1}}) {
      ctpb::ReadContentRequest read;
      read.set_digest(img.image().target().digest());
      read.set_offset(offset);
      read.set_size(size);
      auto stream_ctx = Ctx("default");  // outlives the stream
      auto stream = content->Read(stream_ctx.get(), read);
      ctpb::ReadContentResponse chunk;
      while (stream->Read(&chunk)) {
      }
      const grpc::StatusCode code = stream->Finish().error_code();
      EXPECT_TRUE(code == kInvalid || code == grpc::StatusCode::OUT_OF_RANGE)
          << "offset " << offset << " size " << size << ": " << code;
    }
  }
  // Refs may hold any bytes (NUL too): the store hashes them into directory names, so a ref is
  // never a path (services/content/local/paths.h). Only no ref, or an absurd one, is refused.
  for (const std::string& bad : Strings{std::string(100000, 'r'), ""}) {
    auto stream_ctx = Ctx("default");  // outlives the stream
    auto stream = content->Write(stream_ctx.get());
    ctpb::WriteContentRequest w;
    w.set_action(ctpb::WRITE);
    w.set_ref(bad);
    w.set_data("x");
    stream->Write(w);
    stream->WritesDone();
    ctpb::WriteContentResponse resp;
    while (stream->Read(&resp)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), kInvalid) << "ingest ref " << Printable(bad);
  }
  {
    auto stream_ctx = Ctx("default");  // outlives the stream
    auto stream = content->Write(stream_ctx.get());
    ctpb::WriteContentRequest w;
    w.set_action(ctpb::WRITE);
    w.set_ref("negative");
    w.set_total(-10);
    w.set_offset(-1);
    w.set_data("x");
    stream->Write(w);
    stream->WritesDone();
    ctpb::WriteContentResponse resp;
    while (stream->Read(&resp)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), kInvalid) << "negative total and offset";
  }

  auto images = ipb::Images::NewStub(channel);
  for (const std::string& bad : Strings{std::string("nul\0name", 8), std::string(5000, 'i'),
                                        std::string("UPPER/case:tag"), std::string("a:b:c:d")}) {
    ipb::CreateImageRequest req;
    req.mutable_image()->set_name(bad);
    req.mutable_image()->mutable_target()->set_media_type(
        "application/vnd.oci.image.manifest.v1+json");
    req.mutable_image()->mutable_target()->set_digest("sha256:" + std::string(64, 'a'));
    req.mutable_image()->mutable_target()->set_size(10);
    ipb::CreateImageResponse resp;
    EXPECT_EQ(images->Create(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "image name " << Printable(bad);
  }

  // Tasks: exec ids become file names in the task's state directory.
  CommandResult r =
      Berth({"run", "-d", "--name", "target", "busybox", "sh", "-c", "exec sleep 600"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  started_.push_back({"default", "target"});
  const std::string id(absl::StripAsciiWhitespace(r.out));
  auto tasks = tpb::Tasks::NewStub(channel);
  for (const std::string& bad : BadNames()) {
    if (bad.empty() || bad == "semi;colon") continue;
    tpb::ExecProcessRequest exec;
    exec.set_container_id(id);
    exec.set_exec_id(bad);
    exec.set_spec(R"({"args":["true"],"cwd":"/"})");
    EXPECT_EQ(tasks->Exec(Ctx("default").get(), exec, &empty).error_code(), kInvalid)
        << "exec id " << Printable(bad);
  }
  {
    tpb::LogsRequest logs;
    logs.set_container_id(id);
    logs.set_tail(-5);
    logs.set_stdout(true);
    auto stream_ctx = Ctx("default");  // outlives the stream
    auto stream = tasks->Logs(stream_ctx.get(), logs);
    tpb::LogsResponse chunk;
    while (stream->Read(&chunk)) {
    }
    // Docker's -n all is negative: any negative tail means everything, never an error.
    EXPECT_TRUE(stream->Finish().ok());
  }
  for (const std::string& bad : Strings{"../x", std::string("nul\0", 4), std::string(300, 'c')}) {
    tpb::GetRequest get;
    get.set_container_id(bad);
    tpb::GetResponse resp;
    const grpc::StatusCode code = tasks->Get(Ctx("default").get(), get, &resp).error_code();
    EXPECT_TRUE(code == kInvalid || code == grpc::StatusCode::NOT_FOUND)
        << "task " << Printable(bad) << ": " << code;
  }

  // The daemon is still fine, and nothing was made outside its root or state.
  r = Berth({"inspect", "-f", "{{.State.Status}}", "target"});
  EXPECT_EQ(absl::StripAsciiWhitespace(r.out), "running") << r.err;
  struct stat st;
  EXPECT_NE(stat((daemon_->root() + "/../escape").c_str(), &st), 0);
  EXPECT_NE(stat("/escape", &st), 0);
}

// ---------------------------------------------------------------------------------------------
// Defaults, seen from inside a container

using DefaultsTest = EngineTest;

// "Key:\tvalue" lines of /proc/self/status.
std::string StatusField(const std::string& status, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (absl::ConsumePrefix(&line, key + ":")) return std::string(absl::StripAsciiWhitespace(line));
  }
  return "";
}

std::map<std::string, std::string> ProbeResults(const std::string& out) {
  std::map<std::string, std::string> m;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    m[kv.first] = kv.second;
  }
  return m;
}

// Docker's default 14: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
// NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
constexpr char kDockerCaps[] = "00000000a80425fb";

TEST_F(DefaultsTest, CapabilitiesMaskedPathsReadOnlyPathsAndSeccompAreDockers) {
  Load("default");
  const std::string status = Run({}, {"cat", "/proc/self/status"});
  EXPECT_EQ(StatusField(status, "CapEff"), kDockerCaps);
  EXPECT_EQ(StatusField(status, "CapPrm"), kDockerCaps);
  EXPECT_EQ(StatusField(status, "CapBnd"), kDockerCaps);
  EXPECT_EQ(StatusField(status, "CapAmb"), "0000000000000000");
  EXPECT_EQ(StatusField(status, "NoNewPrivs"), "1");
  EXPECT_EQ(StatusField(status, "Seccomp"), "2");

  // Masked: files read as empty (a bind of /dev/null), directories are empty read-only tmpfs.
  // Only the paths this kernel has: a container's /proc and /sys show what the host's do.
  std::string script, want_masked;
  for (const char* path :
       {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap"}) {
    struct stat st;
    if (stat(path, &st) != 0) continue;
    const std::string p(path);
    if (S_ISDIR(st.st_mode)) {
      script += "echo " + p + " $(ls -A " + p + " | wc -l) $(touch " + p +
                "/x 2>/dev/null && echo writable || echo refused); ";
      want_masked += p + " 0 refused\n";
    } else {
      script += "echo " + p + " $(wc -c < " + p + ") $(stat -c %t:%T " + p + "); ";
      want_masked += p + " 0 1:3\n";
    }
  }
  ASSERT_FALSE(want_masked.empty());
  EXPECT_EQ(Run({}, {"sh", "-c", script}), want_masked);
  // Read-only: /proc/sys and friends are read-only mounts, so even root with CAP_DAC_OVERRIDE
  // cannot write them.
  std::string want_ro;
  script =
      "grep -E ' /proc/(sys|bus|fs|irq|sysrq-trigger) ' /proc/self/mounts | "
      "awk '{print $2, substr($4, 1, 2)}' | sort; "
      "(echo x > /proc/sys/kernel/hostname) 2>/dev/null && echo writable || echo refused";
  for (const char* path :
       {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
    struct stat st;
    if (stat(path, &st) == 0) want_ro += std::string(path) + " ro\n";
  }
  EXPECT_EQ(Run({}, {"sh", "-c", script}), want_ro + "refused\n");

  // Seccomp: what Docker's default profile refuses is refused; ordinary calls work.
  std::map<std::string, std::string> p = ProbeResults(Run({}, {"/bin/seccomp-probe"}));
  EXPECT_EQ(p["keyctl"], "EPERM");
  EXPECT_EQ(p["add_key"], "EPERM");
  EXPECT_EQ(p["kexec_load"], "EPERM");
  EXPECT_EQ(p["unshare_user"], "EPERM");
  EXPECT_EQ(p["mount_tmpfs"], "EPERM");
  EXPECT_EQ(p["clone3"], "ENOSYS");  // so that libc falls back to clone, which is filtered
  EXPECT_EQ(p["userfaultfd"], "EPERM");
  EXPECT_EQ(p["personality_query"], "0");
  EXPECT_EQ(p["fork"], "0");
  EXPECT_EQ(p["getpid"], "0");
}

TEST_F(DefaultsTest, SecurityOptSeccompUnconfinedAndPrivilegedRemoveTheFilter) {
  Load("default");
  const std::map<std::string, std::string> confined = ProbeResults(Run({}, {"/bin/seccomp-probe"}));
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--security-opt", "seccomp=unconfined"},
        std::vector<std::string>{"--privileged"}}) {
    const std::string status = Run(flags, {"cat", "/proc/self/status"});
    EXPECT_EQ(StatusField(status, "Seccomp"), "0") << flags[0];
    std::map<std::string, std::string> p = ProbeResults(Run(flags, {"/bin/seccomp-probe"}));
    EXPECT_NE(p["keyctl"], "EPERM") << flags[0];
    EXPECT_NE(p["add_key"], "EPERM") << flags[0];
    EXPECT_EQ(p["clone3"], "0") << flags[0];
    EXPECT_EQ(p["unshare_user"], "0") << flags[0];
    EXPECT_EQ(p["fork"], "0");
  }
  // unconfined keeps the capability set; privileged widens it to the host's.
  std::string status = Run({"--security-opt", "seccomp=unconfined"}, {"cat", "/proc/self/status"});
  EXPECT_EQ(StatusField(status, "CapEff"), kDockerCaps);
  status = Run({"--privileged"}, {"cat", "/proc/self/status"});
  std::ifstream self("/proc/self/status");
  std::stringstream ours;
  ours << self.rdbuf();
  EXPECT_EQ(StatusField(status, "CapEff"), StatusField(ours.str(), "CapBnd"));
  // --privileged also drops the masks.
  EXPECT_EQ(Run({"--privileged"}, {"sh", "-c",
                                   "grep -c -E ' /(proc/(keys|timer_list|sys)|sys/firmware) ' "
                                   "/proc/self/mounts || true"}),
            "0\n");
  // no-new-privileges can be turned off, as Docker's default has it.
  status = Run({"--security-opt", "no-new-privileges=false"}, {"cat", "/proc/self/status"});
  EXPECT_EQ(StatusField(status, "NoNewPrivs"), "0");
  EXPECT_EQ(StatusField(status, "Seccomp"), "2");
  // A bad option is refused before anything is made.
  CommandResult r = Berth({"run", "--rm", "--security-opt", "seccomp", "busybox", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(absl::StrContains(r.err, "invalid --security-opt")) << r.err;
}

uint64_t Hex(const std::string& s) {
  uint64_t v = 0;
  EXPECT_TRUE(absl::SimpleHexAtoi(s, &v)) << s;
  return v;
}

TEST_F(DefaultsTest, CapAddAndCapDropChangeExactlyWhatTheySay) {
  Load("default");
  const uint64_t base = Hex(kDockerCaps);
  constexpr uint64_t kNetAdmin = 1ull << 12, kSysAdmin = 1ull << 21, kNetRaw = 1ull << 13,
                     kMknod = 1ull << 27;
  std::string status =
      Run({"--cap-add", "NET_ADMIN", "--cap-drop", "net_raw", "--cap-drop", "CAP_MKNOD"},
          {"cat", "/proc/self/status"});
  EXPECT_EQ(Hex(StatusField(status, "CapEff")), (base | kNetAdmin) & ~kNetRaw & ~kMknod);
  EXPECT_EQ(Hex(StatusField(status, "CapBnd")), (base | kNetAdmin) & ~kNetRaw & ~kMknod);
  status = Run({"--cap-drop", "ALL"}, {"cat", "/proc/self/status"});
  EXPECT_EQ(Hex(StatusField(status, "CapEff")), 0u);
  status = Run({"--cap-drop", "ALL", "--cap-add", "CHOWN"}, {"cat", "/proc/self/status"});
  EXPECT_EQ(Hex(StatusField(status, "CapEff")), 1u);

  // CAP_SYS_ADMIN widens the seccomp profile as Docker's: mount and unshare work, the kernel
  // keyring stays closed, and the filter is still there.
  status = Run({"--cap-add", "SYS_ADMIN"}, {"cat", "/proc/self/status"});
  EXPECT_EQ(Hex(StatusField(status, "CapEff")), base | kSysAdmin);
  EXPECT_EQ(StatusField(status, "Seccomp"), "2");
  std::map<std::string, std::string> p =
      ProbeResults(Run({"--cap-add", "SYS_ADMIN"}, {"/bin/seccomp-probe"}));
  EXPECT_EQ(p["mount_tmpfs"], "0");
  EXPECT_EQ(p["unshare_user"], "0");
  EXPECT_EQ(p["clone3"], "0");
  EXPECT_EQ(p["keyctl"], "EPERM");
  EXPECT_EQ(p["kexec_load"], "EPERM");
}

}  // namespace
}  // namespace berth::e2e
