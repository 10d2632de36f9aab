// berth-shim driving berth-runtime on a busybox bundle, spoken to over its SOCK_SEQPACKET
// socket exactly as the daemon will: Connect, Create, Start, Wait, Kill, State, Delete,
// Shutdown, and the TaskExit event; terminals, ResizePty, Attach (fds by SCM_RIGHTS) and log
// rotation; published ports (TCP and UDP relayed to a server on loopback standing in for the
// container). Needs root.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "berth/shim/v1/shim.pb.h"
#include "e2e/harness/runtime_fixture.h"

namespace berth::e2e {
namespace {

namespace v1 = berth::shim::v1;

const std::string kShim = Runfile("shim/berth-shim");

class ShimClient {
 public:
  explicit ShimClient(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size());
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  }
  ~ShimClient() { close(fd_); }
  bool connected() const { return connected_; }

  // The response to `req`; fds that came with it (SCM_RIGHTS) are appended to `fds`, or closed.
  v1::Response Call(v1::Request req, std::vector<int>* fds = nullptr) {
    req.set_id(++next_id_);
    std::string out = req.SerializeAsString();
    send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
    for (;;) {
      std::vector<int> got;
      v1::ShimPacket p = Receive(&got);
      if (fds != nullptr) {
        fds->insert(fds->end(), got.begin(), got.end());
      } else {
        for (int fd : got) close(fd);
      }
      if (p.has_event()) {
        events_.push_back(p.event());
        continue;
      }
      if (!p.has_response()) return {};
      return p.response();
    }
  }
  std::vector<v1::Event>& events() { return events_; }

 private:
  v1::ShimPacket Receive(std::vector<int>* fds) {
    std::string buf(65536, '\0');
    iovec iov{.iov_base = buf.data(), .iov_len = buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(8 * sizeof(int))] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds->push_back(fd);
      }
    }
    v1::ShimPacket p;
    if (n > 0) p.ParseFromArray(buf.data(), static_cast<int>(n));
    return p;
  }
  int fd_ = -1;
  bool connected_ = false;
  uint64_t next_id_ = 0;
  std::vector<v1::Event> events_;
};

// Reads `fd` until EOF, or until `until` appears when it is not empty, or the timeout passes.
struct Read {
  std::string data;
  bool eof = false;
};
Read ReadFd(int fd, const std::string& until = "",
            std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  Read r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  for (;;) {
    if (!until.empty() && r.data.find(until) != std::string::npos) return r;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return r;
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      r.eof = n == 0;
      return r;
    }
    r.data.append(buf, static_cast<size_t>(n));
  }
}

std::string Slurp(const std::string& path) {
  std::stringstream s;
  s << std::ifstream(path).rdbuf();
  return s.str();
}

class Shim : public RuntimeTest {
 protected:
  void TearDown() override {
    for (int fd : fds_) close(fd);
    RuntimeTest::TearDown();
  }
  std::unique_ptr<Child> StartShim(const std::vector<std::string>& flags = {}) {
    sock_ = tmp_.path() + "/shim.sock";
    std::vector<std::string> argv = {kShim,
                                     "--id",
                                     id_,
                                     "--socket",
                                     sock_,
                                     "--state",
                                     tmp_.path() + "/shim",
                                     "--runtime",
                                     kRuntime,
                                     "--runtime-root",
                                     tmp_.path() + "/state",
                                     "--foreground"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto child = std::make_unique<Child>(argv);
    EXPECT_TRUE(WaitForListener(sock_, *child, std::chrono::seconds(10), SOCK_SEQPACKET))
        << child->Stderr();
    return child;
  }
  v1::Request Connect() {
    v1::Request r;
    r.mutable_connect()->set_protocol_version(v1::PROTOCOL_VERSION_1);
    return r;
  }
  v1::Request Create(const BusyboxBundle& b) {
    v1::Request r;
    r.mutable_create()->set_id(id_);
    r.mutable_create()->set_bundle(b.dir());
    return r;
  }
  template <typename Fn>
  v1::Request Make(Fn fill) {
    v1::Request r;
    fill(r);
    return r;
  }
  // Attach; the fds received are closed at the end of the test.
  v1::Response Attach(ShimClient& c, const std::string& exec_id, bool in, bool out, bool err,
                      std::vector<int>* fds) {
    v1::Request r;
    r.mutable_attach()->set_exec_id(exec_id);
    r.mutable_attach()->set_stdin(in);
    r.mutable_attach()->set_stdout(out);
    r.mutable_attach()->set_stderr(err);
    fds->clear();
    v1::Response resp = c.Call(r, fds);
    fds_.insert(fds_.end(), fds->begin(), fds->end());
    return resp;
  }
  v1::Request Resize(const std::string& exec_id, uint32_t width, uint32_t height) {
    v1::Request r;
    r.mutable_resize_pty()->set_exec_id(exec_id);
    r.mutable_resize_pty()->set_width(width);
    r.mutable_resize_pty()->set_height(height);
    return r;
  }
  v1::Request ExecOf(const std::string& exec_id, const std::string& script, bool terminal,
                     bool stdin_open) {
    v1::Request r;
    r.mutable_exec()->set_exec_id(exec_id);
    nlohmann::json process = {
        {"args", {"sh", "-c", script}}, {"cwd", "/"}, {"env", {"PATH=/bin", "TERM=xterm"}}};
    r.mutable_exec()->set_process(process.dump());
    r.mutable_exec()->set_terminal(terminal);
    r.mutable_exec()->mutable_stdio()->set_stdin_open(stdin_open);
    return r;
  }
  v1::Request Start(const std::string& exec_id = "") {
    v1::Request r;
    r.mutable_start()->set_exec_id(exec_id);
    return r;
  }
  v1::Request Wait(const std::string& exec_id = "") {
    v1::Request r;
    r.mutable_wait()->set_exec_id(exec_id);
    return r;
  }
  // Kills and deletes the task, then shuts the shim down.
  void Finish(ShimClient& c, Child& shim) {
    c.Call(Make([](v1::Request& r) {
      r.mutable_kill()->set_signal(SIGKILL);
      r.mutable_kill()->set_all(true);
    }));
    c.Call(Wait());
    EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
    c.Call(Make([](v1::Request& r) { r.mutable_shutdown()->set_now(true); }));
    EXPECT_EQ(shim.Wait(), 0) << shim.Stderr();
  }
  std::string sock_;
  std::vector<int> fds_;
};

constexpr int kFailedPrecondition = static_cast<int>(absl::StatusCode::kFailedPrecondition);

TEST_F(Shim, RunsATaskLogsItsOutputAndKeepsItsExitStatus) {
  BusyboxBundle b = Bundle({"sh", "-c", "echo out; echo err >&2; exit 5"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_TRUE(c.connected());
  v1::Response hello = c.Call(Connect());
  ASSERT_EQ(hello.code(), 0) << hello.message();
  EXPECT_EQ(hello.connect().shim_pid(), static_cast<uint32_t>(shim->pid()));

  v1::Response created = c.Call(Create(b));
  ASSERT_EQ(created.code(), 0) << created.message();
  EXPECT_GT(created.create().pid(), 0u);
  EXPECT_EQ(State(), "created");
  ASSERT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_start(); })).code(), 0);
  v1::Response waited = c.Call(Make([](v1::Request& r) { r.mutable_wait(); }));
  ASSERT_EQ(waited.code(), 0) << waited.message();
  EXPECT_EQ(waited.wait().exit_status(), 5u);
  EXPECT_GT(waited.wait().exited_at_unix_nano(), 0);

  std::stringstream log;
  log << std::ifstream(tmp_.path() + "/shim/log.json").rdbuf();
  EXPECT_NE(log.str().find(R"({"log":"out\n","stream":"stdout","time":")"), std::string::npos)
      << log.str();
  EXPECT_NE(log.str().find(R"({"log":"err\n","stream":"stderr","time":")"), std::string::npos)
      << log.str();
  std::stringstream exit_file;
  exit_file << std::ifstream(tmp_.path() + "/shim/exit.json").rdbuf();
  EXPECT_NE(exit_file.str().find("\"exit_status\":5"), std::string::npos) << exit_file.str();

  v1::Response state = c.Call(Make([](v1::Request& r) { r.mutable_state(); }));
  EXPECT_EQ(state.state().status(), v1::STATUS_STOPPED);
  EXPECT_EQ(state.state().exit_status(), 5u);
  v1::Response deleted = c.Call(Make([](v1::Request& r) { r.mutable_delete_(); }));
  ASSERT_EQ(deleted.code(), 0) << deleted.message();
  EXPECT_EQ(deleted.delete_().exit_status(), 5u);
  EXPECT_EQ(State(), "gone") << "the runtime's container is deleted";

  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0) << shim->Stderr();
}

TEST_F(Shim, KillReportsTheSignalAndPublishesTheExit) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  ASSERT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_start(); })).code(), 0);
  v1::Response busy = c.Call(Make([](v1::Request& r) { r.mutable_delete_(); }));
  EXPECT_EQ(busy.code(), static_cast<int>(absl::StatusCode::kFailedPrecondition));
  ASSERT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_kill()->set_signal(SIGKILL); })).code(), 0);
  v1::Response waited = c.Call(Make([](v1::Request& r) { r.mutable_wait(); }));
  EXPECT_EQ(waited.wait().exit_status(), 137u);
  ASSERT_FALSE(c.events().empty()) << "a TaskExit event precedes the Wait answer";
  EXPECT_EQ(c.events().back().exit().exit_status(), 137u);
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0);
}

TEST_F(Shim, ExecPidsStatsPauseAndCloseIO) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  v1::Response created = c.Call(Create(b));
  ASSERT_EQ(created.code(), 0) << created.message();
  ASSERT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_start(); })).code(), 0);

  v1::Response exec = c.Call(Make([](v1::Request& r) {
    r.mutable_exec()->set_exec_id("e1");
    r.mutable_exec()->set_process(
        R"({"args": ["sh", "-c", "cat; echo from-exec; exit 4"], "cwd": "/",
            "env": ["PATH=/bin"]})");
    r.mutable_exec()->mutable_stdio()->set_stdin_open(true);
  }));
  ASSERT_EQ(exec.code(), 0) << exec.message();
  v1::Response started = c.Call(Make([](v1::Request& r) { r.mutable_start()->set_exec_id("e1"); }));
  ASSERT_EQ(started.code(), 0) << started.message();
  // The exec'd `cat` holds until its stdin closes.
  v1::Response pids = c.Call(Make([](v1::Request& r) { r.mutable_pids(); }));
  ASSERT_EQ(pids.code(), 0) << pids.message();
  bool saw_init = false, saw_exec = false;
  for (const auto& p : pids.pids().processes()) {
    saw_init |= p.pid() == created.create().pid();
    saw_exec |= p.exec_id() == "e1";
  }
  EXPECT_TRUE(saw_init && saw_exec) << pids.ShortDebugString();
  ASSERT_EQ(c.Call(Make([](v1::Request& r) {
               r.mutable_close_io()->set_exec_id("e1");
               r.mutable_close_io()->set_stdin(true);
             })).code(),
            0);
  v1::Response waited = c.Call(Make([](v1::Request& r) { r.mutable_wait()->set_exec_id("e1"); }));
  EXPECT_EQ(waited.wait().exit_status(), 4u);
  std::stringstream log;
  log << std::ifstream(tmp_.path() + "/shim/log-e1.json").rdbuf();
  EXPECT_NE(log.str().find("from-exec"), std::string::npos) << log.str();
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_()->set_exec_id("e1"); })).code(), 0);

  v1::Response stats = c.Call(Make([](v1::Request& r) { r.mutable_stats(); }));
  ASSERT_EQ(stats.code(), 0) << stats.message();
  EXPECT_GT(stats.stats().cpu_usage_usec(), 0u);
  ASSERT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_pause(); })).code(), 0);
  EXPECT_EQ(State(), "paused");
  ASSERT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_resume(); })).code(), 0);
  EXPECT_EQ(State(), "running");

  ASSERT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_kill()->set_signal(SIGKILL); })).code(), 0);
  c.Call(Make([](v1::Request& r) { r.mutable_wait(); }));
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0);
}

// Without --foreground the shim detaches: the launching command returns at once with the socket
// already listening, and the shim runs on in a session of its own, adopted by the nearest
// subreaper (this test, standing in for init, which does not reap here).
TEST_F(Shim, DetachesAndSurvivesItsLauncher) {
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  sock_ = tmp_.path() + "/shim.sock";
  CommandResult launch =
      RunCommand({kShim, "--id", id_, "--socket", sock_, "--state", tmp_.path() + "/shim",
                  "--runtime", kRuntime, "--runtime-root", tmp_.path() + "/state"});
  ASSERT_EQ(launch.exit_code, 0) << launch.err;
  ShimClient c(sock_);
  ASSERT_TRUE(c.connected()) << "the socket listens before the launcher returns";
  v1::Response hello = c.Call(Connect());
  ASSERT_EQ(hello.code(), 0);
  const pid_t shim = static_cast<pid_t>(hello.connect().shim_pid());
  // A new session, of which it is not the leader: it can never acquire a terminal.
  EXPECT_NE(getsid(shim), getsid(0));
  EXPECT_NE(getsid(shim), shim);
  std::ifstream stat("/proc/" + std::to_string(shim) + "/stat");
  std::string comm, state;
  int pid = 0, ppid = 0;
  stat >> pid >> comm >> state >> ppid;
  EXPECT_EQ(ppid, getpid()) << "adopted by the subreaper, its launcher gone";
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  int status = 0;
  ASSERT_EQ(waitpid(shim, &status, 0), shim);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

TEST_F(Shim, RequestsOutOfTurnGetClearErrors) {
  auto shim = StartShim();
  ShimClient c(sock_);
  v1::Response old = c.Call(Make([](v1::Request& r) {
    r.mutable_connect()->set_protocol_version(v1::PROTOCOL_VERSION_UNSPECIFIED);
  }));
  EXPECT_EQ(old.code(), static_cast<int>(absl::StatusCode::kFailedPrecondition));
  v1::Response start = c.Call(Make([](v1::Request& r) { r.mutable_start(); }));
  EXPECT_EQ(start.code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_NE(start.message().find("has been created"), std::string::npos) << start.message();
  BusyboxBundle bad(tmp_.path() + "/bad", {"true"});
  std::ofstream(bad.dir() + "/config.json") << "{not json";
  v1::Response create = c.Call(Create(bad));
  EXPECT_NE(create.code(), 0);
  EXPECT_NE(create.message().find("config.json is not valid JSON"), std::string::npos)
      << create.message();
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0);
}

// The init on a pty: ResizePty before Start sets the size `stty size` reports; the output
// comes through the pty as stdout, to the log and to an attachment made before Start.
TEST_F(Shim, TerminalTaskTakesTheSizeSetByResizePty) {
  BusyboxBundle b = Bundle({"sh", "-c", "stty size; tty"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  v1::Response mismatch = c.Call(Make([&](v1::Request& r) {
    r.mutable_create()->set_id(id_);
    r.mutable_create()->set_bundle(b.dir());
    r.mutable_create()->set_terminal(true);
  }));
  EXPECT_EQ(mismatch.code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(mismatch.message().find("process.terminal is false"), std::string::npos)
      << mismatch.message();

  b.spec()["process"]["terminal"] = true;
  b.Write();
  v1::Response created = c.Call(Make([&](v1::Request& r) {
    r.mutable_create()->set_id(id_);
    r.mutable_create()->set_bundle(b.dir());
    r.mutable_create()->set_terminal(true);
  }));
  ASSERT_EQ(created.code(), 0) << created.message();
  EXPECT_TRUE(c.Call(Make([](v1::Request& r) { r.mutable_state(); })).state().terminal());
  v1::Response resized = c.Call(Resize("", 100, 30));
  ASSERT_EQ(resized.code(), 0) << resized.message();
  std::vector<int> fds;
  v1::Response attached = Attach(c, "", false, true, true, &fds);
  ASSERT_EQ(attached.code(), 0) << attached.message();
  ASSERT_EQ(attached.attach().fds_size(), 1) << "a pty has no stderr of its own";
  EXPECT_EQ(attached.attach().fds(0), v1::FD_ROLE_STDOUT);
  ASSERT_EQ(fds.size(), 1u);

  ASSERT_EQ(c.Call(Start()).code(), 0);
  v1::Response waited = c.Call(Wait());
  EXPECT_EQ(waited.wait().exit_status(), 0u);
  Read out = ReadFd(fds[0]);
  EXPECT_TRUE(out.eof) << "the attachment ends with the output";
  EXPECT_NE(out.data.find("30 100\r\n"), std::string::npos) << out.data;
  EXPECT_NE(out.data.find("/dev/pts/"), std::string::npos) << out.data;
  const std::string log = Slurp(tmp_.path() + "/shim/log.json");
  EXPECT_NE(log.find(R"({"log":"30 100\r\n","stream":"stdout")"), std::string::npos) << log;

  EXPECT_EQ(c.Call(Resize("nope", 80, 24)).code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0) << shim->Stderr();
}

// An exec'd process on a pty: resized after Start, fed through a stdin attachment, and given
// the terminal's EOF (^D) by CloseIO.
TEST_F(Shim, TerminalExecResizesTakesStdinAndEndsWithCloseIO) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  ASSERT_EQ(c.Call(Start()).code(), 0);
  EXPECT_EQ(c.Call(Resize("", 80, 24)).code(), kFailedPrecondition) << "the init has no pty";

  ASSERT_EQ(c.Call(ExecOf("t1", "read line; echo got-$line; stty size", true, true)).code(), 0);
  v1::Response started = c.Call(Start("t1"));
  ASSERT_EQ(started.code(), 0) << started.message();
  EXPECT_NE(Slurp(tmp_.path() + "/shim/process-t1.json").find("\"terminal\":true"),
            std::string::npos);
  ASSERT_EQ(c.Call(Resize("t1", 120, 40)).code(), 0);
  std::vector<int> fds;
  v1::Response attached = Attach(c, "t1", true, true, false, &fds);
  ASSERT_EQ(attached.code(), 0) << attached.message();
  ASSERT_EQ(attached.attach().fds_size(), 2);
  EXPECT_EQ(attached.attach().fds(0), v1::FD_ROLE_STDIN);
  EXPECT_EQ(attached.attach().fds(1), v1::FD_ROLE_STDOUT);
  ASSERT_EQ(write(fds[0], "hi\n", 3), 3);
  v1::Response waited = c.Call(Wait("t1"));
  EXPECT_EQ(waited.wait().exit_status(), 0u);
  Read out = ReadFd(fds[1]);
  EXPECT_TRUE(out.eof);
  EXPECT_NE(out.data.find("got-hi"), std::string::npos) << out.data;
  EXPECT_NE(out.data.find("40 120"), std::string::npos) << out.data;
  EXPECT_NE(Slurp(tmp_.path() + "/shim/log-t1.json").find("40 120"), std::string::npos);

  // `cat` on a terminal ends at ^D, which is what CloseIO sends.
  ASSERT_EQ(c.Call(ExecOf("t2", "cat; echo cat-done", true, true)).code(), 0);
  ASSERT_EQ(c.Call(Start("t2")).code(), 0);
  ASSERT_EQ(c.Call(Make([](v1::Request& r) {
               r.mutable_close_io()->set_exec_id("t2");
               r.mutable_close_io()->set_stdin(true);
             })).code(),
            0);
  v1::Response t2 = c.Call(Wait("t2"));
  EXPECT_EQ(t2.wait().exit_status(), 0u);
  EXPECT_NE(Slurp(tmp_.path() + "/shim/log-t2.json").find("cat-done"), std::string::npos);
  Finish(c, *shim);
}

// Two clients attached to one `cat`: what one writes to its stdin, both read back. One client
// attaches before Start and misses nothing; an attachment ending does not end the stdin.
TEST_F(Shim, AttachedClientsShareStdinAndOutput) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  auto shim = StartShim();
  ShimClient c(sock_), a(sock_), d(sock_);
  for (ShimClient* x : {&c, &a, &d}) ASSERT_EQ(x->Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  ASSERT_EQ(c.Call(Start()).code(), 0);
  std::vector<int> fds;
  v1::Response no_stdin = Attach(c, "", true, true, false, &fds);
  EXPECT_EQ(no_stdin.code(), kFailedPrecondition);
  EXPECT_NE(no_stdin.message().find("was not created with stdin open"), std::string::npos)
      << no_stdin.message();
  EXPECT_TRUE(fds.empty());

  ASSERT_EQ(c.Call(ExecOf("e1", "echo early; cat", false, true)).code(), 0);
  std::vector<int> fa;
  v1::Response ra = Attach(a, "e1", true, true, true, &fa);
  ASSERT_EQ(ra.code(), 0) << ra.message();
  ASSERT_EQ(ra.attach().fds_size(), 3);
  EXPECT_EQ(ra.attach().fds(0), v1::FD_ROLE_STDIN);
  EXPECT_EQ(ra.attach().fds(1), v1::FD_ROLE_STDOUT);
  EXPECT_EQ(ra.attach().fds(2), v1::FD_ROLE_STDERR);
  ASSERT_EQ(fa.size(), 3u);
  ASSERT_EQ(c.Call(Start("e1")).code(), 0);
  EXPECT_EQ(ReadFd(fa[1], "early\n").data, "early\n") << "attached before Start: nothing missed";
  std::vector<int> fd;
  v1::Response rd = Attach(d, "e1", false, true, false, &fd);
  ASSERT_EQ(rd.code(), 0) << rd.message();
  ASSERT_EQ(fd.size(), 1u);
  EXPECT_EQ(c.Call(Resize("e1", 80, 24)).code(), kFailedPrecondition);

  ASSERT_EQ(write(fa[0], "hello\n", 6), 6);
  EXPECT_EQ(ReadFd(fa[1], "hello\n").data, "hello\n");
  EXPECT_EQ(ReadFd(fd[0], "hello\n").data, "hello\n");
  // The first client's stdin goes away; the process's stdin stays open for the second one.
  close(fa[0]);
  fds_.erase(std::find(fds_.begin(), fds_.end(), fa[0]));
  std::vector<int> fin;
  ASSERT_EQ(Attach(d, "e1", true, false, false, &fin).code(), 0);
  ASSERT_EQ(fin.size(), 1u);
  ASSERT_EQ(write(fin[0], "again\n", 6), 6);
  EXPECT_EQ(ReadFd(fa[1], "again\n").data, "again\n");
  EXPECT_EQ(ReadFd(fd[0], "again\n").data, "again\n");

  // Bytes written just before CloseIO still reach the process before its stdin closes.
  ASSERT_EQ(write(fin[0], "last\n", 5), 5);
  ASSERT_EQ(c.Call(Make([](v1::Request& r) {
               r.mutable_close_io()->set_exec_id("e1");
               r.mutable_close_io()->set_stdin(true);
             })).code(),
            0);
  EXPECT_EQ(c.Call(Wait("e1")).wait().exit_status(), 0u);
  for (int out : {fa[1], fd[0]}) {
    Read rest = ReadFd(out);
    EXPECT_TRUE(rest.eof) << "the attachments end when the output does";
    EXPECT_EQ(rest.data, "last\n");
  }
  Read err = ReadFd(fa[2]);
  EXPECT_TRUE(err.eof);
  EXPECT_EQ(err.data, "");
  EXPECT_NE(Slurp(tmp_.path() + "/shim/log-e1.json").find(R"("log":"last\n")"), std::string::npos);
  Finish(c, *shim);
}

// An exec id used again after Delete: a background child of the first process still holds
// its output pipe and writes later; that goes to neither the new process's log nor its
// attachments, and its EOF does not end them.
TEST_F(Shim, AReusedExecIdGetsOnlyItsOwnOutput) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  ASSERT_EQ(c.Call(Start()).code(), 0);
  ASSERT_EQ(c.Call(ExecOf("e1", "(sleep 1; echo stale) & echo first", false, false)).code(), 0);
  ASSERT_EQ(c.Call(Start("e1")).code(), 0);
  ASSERT_EQ(c.Call(Wait("e1")).code(), 0);
  ASSERT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_()->set_exec_id("e1"); })).code(), 0);
  ASSERT_EQ(c.Call(ExecOf("e1", "sleep 2; echo second", false, false)).code(), 0);
  std::vector<int> fds;
  ASSERT_EQ(Attach(c, "e1", false, true, false, &fds).code(), 0);
  ASSERT_EQ(c.Call(Start("e1")).code(), 0);
  Read out = ReadFd(fds[0]);
  EXPECT_TRUE(out.eof);
  EXPECT_EQ(out.data, "second\n");
  EXPECT_EQ(Slurp(tmp_.path() + "/shim/log-e1.json").find("stale"), std::string::npos);
  Finish(c, *shim);
}

TEST_F(Shim, AttachingToAnExitedProcessGivesEof) {
  BusyboxBundle b = Bundle({"sh", "-c", "echo done"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  ASSERT_EQ(c.Call(Start()).code(), 0);
  ASSERT_EQ(c.Call(Wait()).code(), 0);
  std::vector<int> fds;
  v1::Response attached = Attach(c, "", false, true, true, &fds);
  ASSERT_EQ(attached.code(), 0) << attached.message();
  ASSERT_EQ(fds.size(), 2u);
  for (int fd : fds) {
    Read r = ReadFd(fd, "", std::chrono::seconds(2));
    EXPECT_TRUE(r.eof);
    EXPECT_EQ(r.data, "");
  }
  EXPECT_EQ(Attach(c, "nope", false, true, false, &fds).code(),
            static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0) << shim->Stderr();
}

// An attachment whose reader does not read is dropped once its pipe is full; the log still
// gets every byte, and the loop never waits for the reader.
TEST_F(Shim, ALaggingAttachmentIsDroppedTheLogKeepsEverything) {
  constexpr int kBytes = 3000000;
  BusyboxBundle b =
      Bundle({"sh", "-c",
              "head -c " + std::to_string(kBytes) + " /dev/zero | tr '\\0' x; echo; echo end"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  std::vector<int> fds;
  ASSERT_EQ(Attach(c, "", false, true, false, &fds).code(), 0);
  ASSERT_EQ(c.Call(Start()).code(), 0);
  EXPECT_EQ(c.Call(Wait()).wait().exit_status(), 0u);
  Read r = ReadFd(fds[0]);
  EXPECT_TRUE(r.eof);
  EXPECT_GT(r.data.size(), 0u);
  EXPECT_LT(r.data.size(), static_cast<size_t>(kBytes));
  const std::string log = Slurp(tmp_.path() + "/shim/log.json");
  EXPECT_EQ(std::count(log.begin(), log.end(), 'x'), kBytes);
  EXPECT_NE(log.find(R"({"log":"end\n")"), std::string::npos);
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0);
  EXPECT_NE(shim->Stderr().find("dropped an attachment"), std::string::npos) << shim->Stderr();
}

// --log-max-size 300 --log-max-files 3: log.json is newest, then log.json.1, log.json.2; no
// more; each within the size; together the latest lines, in order.
TEST_F(Shim, LogRotationKeepsMaxFiles) {
  BusyboxBundle b = Bundle({"sh", "-c", "for i in $(seq 1 60); do echo line-$i; done"});
  auto shim = StartShim({"--log-max-size", "300", "--log-max-files", "3"});
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  ASSERT_EQ(c.Call(Start()).code(), 0);
  EXPECT_EQ(c.Call(Wait()).wait().exit_status(), 0u);
  const std::string dir = tmp_.path() + "/shim/";
  std::string all;
  for (const char* name : {"log.json.2", "log.json.1", "log.json"}) {
    struct stat st;
    ASSERT_EQ(stat((dir + name).c_str(), &st), 0) << name;
    EXPECT_LE(st.st_size, 300) << name;
    EXPECT_GT(st.st_size, 0) << name;
    all += Slurp(dir + name);
  }
  EXPECT_NE(access((dir + "log.json.3").c_str(), F_OK), 0) << "at most 3 files in all";
  std::vector<int> lines;
  std::istringstream in(all);
  for (std::string rec; std::getline(in, rec);) {
    auto j = nlohmann::json::parse(rec);
    EXPECT_EQ(j["stream"], "stdout");
    lines.push_back(std::stoi(j["log"].get<std::string>().substr(5)));
  }
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), 60);
  for (size_t i = 1; i < lines.size(); ++i) EXPECT_EQ(lines[i], lines[i - 1] + 1);
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0);
}

TEST_F(Shim, BadLogAndTimeoutFlagsAreRefused) {
  for (const auto& flags :
       std::vector<std::vector<std::string>>{{"--log-max-size", "10k"},
                                             {"--log-max-size", "1", "--log-max-files", "0"},
                                             {"--runtime-timeout", "0s"},
                                             {"--runtime-timeout", "90"}}) {
    std::vector<std::string> argv = {kShim,
                                     "--id",
                                     id_,
                                     "--socket",
                                     tmp_.path() + "/x.sock",
                                     "--state",
                                     tmp_.path() + "/x",
                                     "--foreground"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(flags[flags.size() - 2]), std::string::npos) << r.err;
  }
}

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
