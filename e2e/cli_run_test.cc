// berth run, create, start, attach and exec: the real CLI against a real berthd, with -it
// through a pseudo-terminal (typing into a shell, resizing, detaching with Ctrl-P Ctrl-Q and
// attaching again), Docker's exit codes, and restart policies across a killed process and a
// killed daemon. Needs root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "e2e/harness/daemon.h"
#include "e2e/harness/engine.h"
#include "e2e/harness/process.h"
#include "runtime/cgroup.h"

namespace berth::e2e {
namespace {

namespace cpb = berth::services::containers::v1;
namespace tpb = berth::services::tasks::v1;

const std::string kBerth = Runfile("ctl/berth");

// A command on the slave side of a pseudo-terminal we hold the master of.
class PtyProcess {
 public:
  PtyProcess(const std::vector<std::string>& argv, unsigned short rows, unsigned short cols) {
    winsize ws{};
    ws.ws_row = rows;
    ws.ws_col = cols;
    pid_ = forkpty(&master_, nullptr, nullptr, &ws);
    if (pid_ == 0) {
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~PtyProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }
  void Type(const std::string& keys) {
    ASSERT_EQ(write(master_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }
  void Resize(unsigned short rows, unsigned short cols) {
    winsize ws{};
    ws.ws_row = rows;
    ws.ws_col = cols;
    ioctl(master_, TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH to the foreground group
  }
  // Reads until `want` has appeared in the output, or 20 s pass. True when it did.
  bool Expect(const std::string& want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (size_t at = seen_.find(want, consumed_); at != std::string::npos) {
        consumed_ = at + want.size();
        return true;
      }
      pollfd p{master_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(master_, buf, sizeof(buf));
      if (n <= 0) break;
      seen_.append(buf, static_cast<size_t>(n));
    }
    return seen_.find(want, consumed_) != std::string::npos;
  }
  // The exit code of the command (draining its output so it is not blocked), -1 on timeout.
  int Wait() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      Expect("\x01never\x01");  // reads whatever comes, for up to the poll interval
    }
    return -1;
  }
  const std::string& output() const { return seen_; }

 private:
  int master_ = -1;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string seen_;
  size_t consumed_ = 0;
};

class CliRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Engine>(EngineOptions{.prefix = "berth-clirun"});
    ASSERT_TRUE(daemon_->started()) << daemon_->Stderr();
    CommandResult r = daemon_->LoadImage("busybox");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void TearDown() override {
    for (const auto& [name, id] : ids_) daemon_->ForceRemove(id);
  }

  // A container's id from its name.
  std::string IdOf(const std::string& name) {
    cpb::GetContainerRequest req;
    req.set_id(name);
    cpb::GetContainerResponse resp;
    cpb::Containers::NewStub(daemon_->Channel())->Get(TestDaemon::Context().get(), req, &resp);
    return resp.container().id();
  }

  CommandResult Berth(std::vector<std::string> args) { return daemon_->Berth(std::move(args)); }

  std::string RunDetached(const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> cmd = {"run", "-d", "--name", name};
    cmd.insert(cmd.end(), args.begin(), args.end());
    CommandResult r = Berth(cmd);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    ids_[name] = std::string(absl::StripAsciiWhitespace(r.out));
    return ids_[name];
  }

  tpb::Process Task(const std::string& id) {
    tpb::GetRequest req;
    req.set_container_id(id);
    tpb::GetResponse resp;
    tpb::Tasks::NewStub(daemon_->Channel())->Get(TestDaemon::Context().get(), req, &resp);
    return resp.process();
  }

  // Polls until the container runs with a pid other than `old_pid`; returns it (0: never).
  uint32_t AwaitNewPid(const std::string& id, uint32_t old_pid) {
    for (int i = 0; i < 200; ++i) {
      tpb::Process p = Task(id);
      if (p.status() == tpb::RUNNING && p.pid() != 0 && p.pid() != old_pid) return p.pid();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }

  std::unique_ptr<Engine> daemon_;
  std::map<std::string, std::string> ids_;
};

TEST_F(CliRunTest, RunPassesStreamsEnvironmentAndExitCodes) {
  CommandResult r = Berth({"run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");

  const std::string env_file = daemon_->dir() + "/env";
  std::ofstream(env_file) << "# comment\nFROM_FILE=file\n\nBOTH=file\n";
  r = Berth({"run", "--rm", "--env-file", env_file, "-e", "BOTH=flag", "-e", "X=1", "-w", "/tmp",
             "-u", "1000:1000", "-h", "boxy", "busybox", "sh", "-c",
             "echo $FROM_FILE $BOTH $X $(pwd) $(id -u):$(id -g) $(hostname)"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "file flag 1 /tmp 1000:1000 boxy\n");

  // Dashes after the image belong to the container's command.
  r = Berth({"run", "--rm", "busybox", "ls", "-l", "-d", "/"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "d")) << r.out;

  r = Berth({"run", "--rm", "--entrypoint", "echo", "busybox", "from", "entrypoint"});
  EXPECT_EQ(r.out, "from entrypoint\n");

  // Input through -i, ended by end-of-file.
  r = RunCommand(
      {"/bin/sh", "-c",
       absl::StrCat("echo piped | ", kBerth, " -H ", daemon_->host(), " run --rm -i busybox cat")});
  EXPECT_EQ(r.out, "piped\n");
}

TEST_F(CliRunTest, ErrorsAreOneLineWithDockersExitCodes) {
  CommandResult r = Berth({"run", "--rm", "nosuchimage"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(absl::StrContains(r.err, "Unable to find image 'nosuchimage'")) << r.err;
  r = Berth({"run", "--rm", "busybox", "no-such-command"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_TRUE(absl::StrContains(r.err, "no-such-command")) << r.err;
  r = Berth({"run", "--rm", "busybox", "/etc/passwd"});
  EXPECT_EQ(r.exit_code, 126) << r.err;
  r = Berth({"run", "--rm", "-m", "lots", "busybox", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(absl::StrContains(r.err, "lots")) << r.err;
  r = Berth({"run", "--rm", "--restart", "always", "busybox", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(absl::StrContains(r.err, "Conflicting options")) << r.err;
  r = Berth({"run", "--nosuchflag", "busybox"});
  EXPECT_EQ(r.exit_code, 125);
  r = Berth({"run", "--rm", "-u", "ghost", "busybox", "true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "unable to find user ghost")) << r.err;

  RunDetached("taken", {"busybox", "sleep", "1000"});
  r = Berth({"run", "--name", "taken", "busybox", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_TRUE(absl::StrContains(r.err, "is already in use")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = Berth({"exec", "nosuch", "true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "No such container: nosuch")) << r.err;
  r = Berth({"exec", "taken", "no-such-command"});
  EXPECT_EQ(r.exit_code, 127) << r.err;
}

TEST_F(CliRunTest, CreateThenStartAttachedAndExec) {
  CommandResult r = Berth({"create", "--name", "later", "busybox", "sh", "-c", "echo ran; exit 4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ids_["later"] = std::string(absl::StripAsciiWhitespace(r.out));
  EXPECT_EQ(ids_["later"].size(), 64u);
  r = Berth({"start", "-a", "later"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(r.out, "ran\n");
  r = Berth({"start", "-a", "later"});  // a second run of the same container
  EXPECT_EQ(r.exit_code, 4) << r.err;

  RunDetached("host", {"busybox", "sleep", "1000"});
  r = Berth({"exec", "-e", "V=set", "-w", "/etc", "host", "sh", "-c", "echo $V $(pwd); exit 2"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "set /etc\n");
  r = Berth({"exec", "-d", "host", "touch", "/tmp/detached"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) {
    seen = Berth({"exec", "host", "test", "-e", "/tmp/detached"}).exit_code == 0;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(seen);
}

TEST_F(CliRunTest, InteractiveTerminalResizesDetachesAndReattaches) {
  // The shell records the terminal's settings before and after, to show they are restored.
  const std::string before = daemon_->dir() + "/before", after = daemon_->dir() + "/after";
  PtyProcess run(
      {"/bin/sh", "-c",
       absl::StrCat("stty -g > ", before, "; ", kBerth, " -H ", daemon_->host(),
                    " run -it --name tty busybox sh; code=$?; stty -g > ", after, "; exit $code")},
      24, 80);
  ASSERT_TRUE(run.Expect("# ")) << run.output();
  ids_["tty"] = IdOf("tty");
  run.Type("stty size\r");
  EXPECT_TRUE(run.Expect("24 80")) << run.output();
  run.Resize(30, 100);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  run.Type("stty size\r");
  EXPECT_TRUE(run.Expect("30 100")) << run.output();
  run.Type("echo $((6*7))\r");
  EXPECT_TRUE(run.Expect("42")) << run.output();
  run.Type("\x10\x11");  // Ctrl-P Ctrl-Q
  EXPECT_EQ(run.Wait(), 0) << run.output();
  EXPECT_TRUE(absl::StrContains(run.output(), "read escape sequence")) << run.output();
  std::string saved_before, saved_after;
  std::getline(std::ifstream(before), saved_before);
  std::getline(std::ifstream(after), saved_after);
  EXPECT_FALSE(saved_before.empty());
  EXPECT_EQ(saved_before, saved_after);

  // Still running: attach again, type, and end the shell.
  PtyProcess attach(daemon_->BerthArgv({"attach", "tty"}), 24, 80);
  attach.Type("echo back-$((1+1))\r");
  EXPECT_TRUE(attach.Expect("back-2")) << attach.output();
  attach.Type("exit 5\r");
  EXPECT_EQ(attach.Wait(), 5) << attach.output();
}

TEST_F(CliRunTest, RestartAlwaysComesBackAfterAKillAndAfterTheDaemonDies) {
  const std::string id =
      RunDetached("phoenix", {"--restart", "always", "busybox", "sleep", "1000"});
  uint32_t pid = AwaitNewPid(id, 0);
  ASSERT_NE(pid, 0u);
  ASSERT_EQ(kill(static_cast<pid_t>(pid), SIGKILL), 0);
  uint32_t again = AwaitNewPid(id, pid);
  EXPECT_NE(again, 0u) << "not restarted after its process was killed";

  // The daemon dies; the container dies while it is down; the daemon comes back and restarts
  // the container.
  ASSERT_EQ(daemon_->Stop(SIGKILL), 128 + SIGKILL);
  ASSERT_EQ(kill(static_cast<pid_t>(again), SIGKILL), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(daemon_->Start()) << daemon_->Stderr();
  EXPECT_NE(AwaitNewPid(id, again), 0u) << "not restarted after the daemon came back";
}

TEST_F(CliRunTest, OnFailureGivesUpAfterItsRetries) {
  const std::string id =
      RunDetached("flaky", {"--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1"});
  // The first run and two restarts, then the daemon leaves it exited.
  std::map<std::string, std::string> labels;
  for (int i = 0; i < 200; ++i) {
    labels = daemon_->Labels(id);
    if (labels["berth.io/restart-count"] == "2" && !Task(id).pid()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(labels["berth.io/restart-count"], "2");
  EXPECT_EQ(labels["berth.io/exit-status"], "1");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(daemon_->Labels(id)["berth.io/restart-count"], "2");
  EXPECT_EQ(Task(id).pid(), 0u);
}

}  // namespace
}  // namespace berth::e2e
