// berth-shim lifecycle and exec over its socket: Create, Start, Wait, Kill, Exec. Needs root.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "e2e/shim_fixture.h"

namespace berth::e2e {
namespace {

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

}  // namespace
}  // namespace berth::e2e
