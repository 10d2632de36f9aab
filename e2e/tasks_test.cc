// The tasks and events services through berthd's gRPC API, on a busybox image unpacked by the
// daemon: containers run through berth-shim (and runc, in a test of its own), with stdio,
// exit codes, signals, exec, pause, logs, terminals, and a daemon killed and restarted under
// running containers. Needs root.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "berth/events/v1/events.pb.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/events/v1/events.grpc.pb.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "e2e/harness/daemon.h"
#include "e2e/harness/process.h"
#include "runtime/cgroup.h"
#include "runtime/spec.h"

namespace berth::e2e {
namespace {

namespace cpb = berth::services::containers::v1;
namespace epb = berth::services::events::v1;
namespace ipb = berth::services::images::v1;
namespace spb = berth::services::snapshots::v1;
namespace tpb = berth::services::tasks::v1;

const std::string kBerth = Runfile("ctl/berth");
const std::string kMakeImage = Runfile("e2e/fixtures/make_oci_image.py");

std::string Config(const std::string& dir) {
  const std::string file = dir + "/config.yaml";
  std::ofstream(file) << "shim: " << Runfile("shim/berth-shim") << "\n"
                      << "runtimes:\n"
                      << "  berth-runtime: " << Runfile("runtime/berth-runtime") << "\n"
                      << "  runc: /usr/sbin/runc\n";
  return file;
}

// What an Attach stream brought back.
struct Attached {
  std::string out, err;
  int exit_status = -1;
};

class TasksTest : public ::testing::Test {
 protected:
  void SetUp() override { StartDaemon({}); }

  void StartDaemon(std::vector<std::string> wrapper) {
    daemon_ = std::make_unique<TestDaemon>(
        std::vector<std::string>{"--config", Config(tmp_.path())}, std::move(wrapper));
    ASSERT_TRUE(daemon_->started()) << daemon_->Stderr();
    Connect();
    const std::string archive = tmp_.path() + "/busybox.tar";
    CommandResult r = RunCommand({"/usr/bin/python3", kMakeImage, archive, "busybox"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunCommand({kBerth, "-H", "unix://" + daemon_->socket(), "load", "-i", archive});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ipb::UnpackImageRequest req;
    req.set_name("busybox");
    ipb::UnpackImageResponse resp;
    grpc::Status st = ipb::Images::NewStub(channel_)->Unpack(Ctx().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    chain_ = resp.chain_id();
  }

  void Connect() {
    channel_ = daemon_->Channel();
    tasks_ = tpb::Tasks::NewStub(channel_);
    containers_ = cpb::Containers::NewStub(channel_);
    snapshots_ = spb::Snapshots::NewStub(channel_);
  }

  void TearDown() override {
    for (const std::string& id : made_) {
      tpb::KillRequest kill;
      kill.set_container_id(id);
      kill.set_signal(SIGKILL);
      kill.set_all(true);
      google::protobuf::Empty e;
      tasks_->Kill(Ctx().get(), kill, &e);
      tpb::WaitRequest wait;
      wait.set_container_id(id);
      tpb::WaitResponse w;
      auto ctx = Ctx();
      ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      tasks_->Wait(ctx.get(), wait, &w);
      tpb::DeleteTaskRequest del;
      del.set_container_id(id);
      tpb::DeleteResponse d;
      tasks_->Delete(Ctx().get(), del, &d);
      cpb::DeleteContainerRequest cdel;
      cdel.set_id(id);
      containers_->Delete(Ctx().get(), cdel, &e);
      spb::RemoveSnapshotRequest rm;
      rm.set_key(id);
      snapshots_->Remove(Ctx().get(), rm, &e);
    }
    // The runtimes remove each container's cgroup; the parent these tests chose is ours.
    if (absl::StatusOr<std::string> cg = runtime::FindCgroup2Mount(); cg.ok()) {
      rmdir((*cg + "/berth-e2e-tasks").c_str());
    }
  }

  static std::unique_ptr<grpc::ClientContext> Ctx() { return TestDaemon::Context(); }

  // A container record running `args` on a fresh snapshot of busybox; returns its mounts.
  std::vector<berth::types::v1::Mount> NewContainer(const std::string& id,
                                                    const std::vector<std::string>& args,
                                                    const std::string& runtime = "berth-runtime") {
    spb::PrepareSnapshotRequest prep;
    prep.set_key(id);
    prep.set_parent(chain_);
    spb::PrepareSnapshotResponse mounts;
    grpc::Status st = snapshots_->Prepare(Ctx().get(), prep, &mounts);
    EXPECT_TRUE(st.ok()) << st.error_message();
    nlohmann::json spec = nlohmann::json::parse(runtime::DefaultSpecJson());
    spec["process"]["args"] = args;
    spec["root"]["readonly"] = false;
    spec["linux"]["cgroupsPath"] = "/berth-e2e-tasks/" + id;
    cpb::CreateContainerRequest c;
    c.mutable_container()->set_id(id);
    c.mutable_container()->set_image("docker.io/library/busybox:latest");
    c.mutable_container()->set_spec(spec.dump());
    c.mutable_container()->set_snapshot_key(id);
    c.mutable_container()->set_snapshotter("overlayfs");
    c.mutable_container()->mutable_runtime()->set_name(runtime);
    cpb::CreateContainerResponse cr;
    st = containers_->Create(Ctx().get(), c, &cr);
    EXPECT_TRUE(st.ok()) << st.error_message();
    made_.push_back(id);
    return {mounts.mounts().begin(), mounts.mounts().end()};
  }

  grpc::Status CreateTask(const std::string& id, const std::vector<berth::types::v1::Mount>& rootfs,
                          bool terminal = false, bool stdin_open = false) {
    tpb::CreateTaskRequest req;
    req.set_container_id(id);
    for (const auto& m : rootfs) *req.add_rootfs() = m;
    req.mutable_stdio()->set_terminal(terminal);
    req.mutable_stdio()->set_stdin_open(stdin_open);
    tpb::CreateTaskResponse resp;
    return tasks_->Create(Ctx().get(), req, &resp);
  }

  grpc::Status Start(const std::string& id, const std::string& exec_id = "") {
    tpb::StartRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    tpb::StartResponse resp;
    return tasks_->Start(Ctx().get(), req, &resp);
  }

  grpc::Status Kill(const std::string& id, int sig, const std::string& exec_id = "") {
    tpb::KillRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    req.set_signal(static_cast<uint32_t>(sig));
    google::protobuf::Empty e;
    return tasks_->Kill(Ctx().get(), req, &e);
  }

  // Waits for the process; -1 (and a test failure) when the call fails.
  int Wait(const std::string& id, const std::string& exec_id = "") {
    tpb::WaitRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    tpb::WaitResponse resp;
    auto ctx = Ctx();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status st = tasks_->Wait(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return st.ok() ? static_cast<int>(resp.exit_status()) : -1;
  }

  tpb::Status StatusOf(const std::string& id) {
    tpb::GetRequest req;
    req.set_container_id(id);
    tpb::GetResponse resp;
    grpc::Status st = tasks_->Get(Ctx().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.process().status();
  }

  // Attaches to stdout and stderr, runs `between` once attached (usually Start), then reads
  // until the exit message.
  Attached AttachAndRun(const std::string& id, const std::string& exec_id,
                        const std::function<void()>& between, const std::string& input = "") {
    Attached got;
    grpc::ClientContext ctx;
    ctx.AddMetadata("berth-namespace", "default");
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto stream = tasks_->Attach(&ctx);
    tpb::AttachRequest start;
    start.mutable_start()->set_container_id(id);
    start.mutable_start()->set_exec_id(exec_id);
    start.mutable_start()->set_stdout(true);
    start.mutable_start()->set_stderr(true);
    start.mutable_start()->set_stdin(!input.empty());
    EXPECT_TRUE(stream->Write(start));
    tpb::AttachResponse msg;
    EXPECT_TRUE(stream->Read(&msg));
    EXPECT_TRUE(msg.has_attached());
    between();
    if (!input.empty()) {
      tpb::AttachRequest in;
      in.set_stdin(input);
      stream->Write(in);
      tpb::AttachRequest close;
      close.mutable_close_stdin();
      stream->Write(close);
    }
    while (stream->Read(&msg)) {
      if (msg.has_output()) {
        (msg.output().stream() == tpb::STREAM_STDERR ? got.err : got.out) += msg.output().data();
      } else if (msg.has_exit()) {
        got.exit_status = static_cast<int>(msg.exit().exit_status());
        stream->WritesDone();
      }
    }
    grpc::Status st = stream->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return got;
  }

  ShortTempDir tmp_{"berth-tasks"};
  std::unique_ptr<TestDaemon> daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<tpb::Tasks::Stub> tasks_;
  std::unique_ptr<cpb::Containers::Stub> containers_;
  std::unique_ptr<spb::Snapshots::Stub> snapshots_;
  std::string chain_;
  std::vector<std::string> made_;
};

TEST_F(TasksTest, CapturesStdoutAndStderrApartAndReportsTheExitCode) {
  auto rootfs = NewContainer("outerr", {"sh", "-c", "echo to-out; echo to-err >&2; exit 3"});
  ASSERT_TRUE(CreateTask("outerr", rootfs).ok());
  EXPECT_EQ(StatusOf("outerr"), tpb::CREATED);
  Attached a = AttachAndRun("outerr", "", [&] { ASSERT_TRUE(Start("outerr").ok()); });
  EXPECT_EQ(a.out, "to-out\n");
  EXPECT_EQ(a.err, "to-err\n");
  EXPECT_EQ(a.exit_status, 3);
  EXPECT_EQ(Wait("outerr"), 3);
  EXPECT_EQ(StatusOf("outerr"), tpb::STOPPED);

  // The log has both, each with its stream; after Delete the log is still there.
  tpb::DeleteTaskRequest del;
  del.set_container_id("outerr");
  tpb::DeleteResponse d;
  ASSERT_TRUE(tasks_->Delete(Ctx().get(), del, &d).ok());
  EXPECT_EQ(d.exit_status(), 3u);
  tpb::LogsRequest logs;
  logs.set_container_id("outerr");
  grpc::ClientContext ctx;
  ctx.AddMetadata("berth-namespace", "default");
  auto reader = tasks_->Logs(&ctx, logs);
  std::vector<std::pair<tpb::Stream, std::string>> records;
  tpb::LogsResponse batch;
  while (reader->Read(&batch)) {
    for (const auto& r : batch.records()) records.emplace_back(r.stream(), r.data());
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], std::make_pair(tpb::STREAM_STDOUT, std::string("to-out\n")));
  EXPECT_EQ(records[1], std::make_pair(tpb::STREAM_STDERR, std::string("to-err\n")));
  // No task any more: Get and Kill say so.
  tpb::GetRequest get;
  get.set_container_id("outerr");
  tpb::GetResponse g;
  EXPECT_EQ(tasks_->Get(Ctx().get(), get, &g).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(TasksTest, DeathBySignalAndRequestsOutOfTurn) {
  auto rootfs = NewContainer("sig", {"sleep", "1000"});
  ASSERT_TRUE(CreateTask("sig", rootfs).ok());
  EXPECT_EQ(CreateTask("sig", rootfs).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_TRUE(Start("sig").ok());
  EXPECT_EQ(StatusOf("sig"), tpb::RUNNING);
  grpc::Status again = Start("sig");
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << again.error_message();
  tpb::DeleteTaskRequest del;
  del.set_container_id("sig");
  tpb::DeleteResponse d;
  EXPECT_EQ(tasks_->Delete(Ctx().get(), del, &d).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  ASSERT_TRUE(Kill("sig", SIGKILL).ok());
  EXPECT_EQ(Wait("sig"), 128 + SIGKILL);
  grpc::Status dead = Kill("sig", SIGTERM);
  EXPECT_FALSE(dead.ok());
  EXPECT_FALSE(dead.error_message().empty());
  tpb::ExecProcessRequest exec;
  exec.set_container_id("sig");
  exec.set_exec_id("late");
  exec.set_spec(R"({"args":["true"],"cwd":"/"})");
  google::protobuf::Empty e;
  EXPECT_EQ(tasks_->Exec(Ctx().get(), exec, &e).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  EXPECT_EQ(Kill("nosuch", SIGTERM).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CreateTask("nosuch", {}).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(TasksTest, ExecRunsBesideTheInitWithItsOwnOutputAndExitCode) {
  auto rootfs = NewContainer("ex", {"sleep", "1000"});
  ASSERT_TRUE(CreateTask("ex", rootfs).ok());
  ASSERT_TRUE(Start("ex").ok());
  tpb::ExecProcessRequest exec;
  exec.set_container_id("ex");
  exec.set_exec_id("e1");
  exec.set_spec(nlohmann::json({{"args", {"sh", "-c", "echo in-$(hostname); exit 5"}},
                                {"cwd", "/"},
                                {"env", {"PATH=/bin"}}})
                    .dump());
  google::protobuf::Empty e;
  grpc::Status st = tasks_->Exec(Ctx().get(), exec, &e);
  ASSERT_TRUE(st.ok()) << st.error_message();
  Attached a = AttachAndRun("ex", "e1", [&] { ASSERT_TRUE(Start("ex", "e1").ok()); });
  EXPECT_EQ(a.exit_status, 5);
  EXPECT_EQ(a.out.rfind("in-", 0), 0u) << a.out;

  tpb::ListPidsRequest lp;
  lp.set_container_id("ex");
  tpb::ListPidsResponse pids;
  ASSERT_TRUE(tasks_->ListPids(Ctx().get(), lp, &pids).ok());
  EXPECT_GE(pids.processes_size(), 1);
  tpb::DeleteProcessRequest dp;
  dp.set_container_id("ex");
  dp.set_exec_id("e1");
  tpb::DeleteResponse d;
  ASSERT_TRUE(tasks_->DeleteProcess(Ctx().get(), dp, &d).ok());
  EXPECT_EQ(d.exit_status(), 5u);
}

TEST_F(TasksTest, ATerminalTaskAnswersSttySizeWithTheSizeSetByResizePty) {
  auto rootfs = NewContainer("tty", {"sh", "-c", "stty size; test -t 0 && echo is-a-tty"});
  ASSERT_TRUE(CreateTask("tty", rootfs, /*terminal=*/true, /*stdin_open=*/true).ok());
  tpb::ResizePtyRequest resize;
  resize.set_container_id("tty");
  resize.set_width(100);
  resize.set_height(30);
  google::protobuf::Empty e;
  grpc::Status st = tasks_->ResizePty(Ctx().get(), resize, &e);
  ASSERT_TRUE(st.ok()) << st.error_message();
  Attached a = AttachAndRun("tty", "", [&] { ASSERT_TRUE(Start("tty").ok()); });
  EXPECT_EQ(a.out, "30 100\r\nis-a-tty\r\n");  // a pty turns \n into \r\n
  EXPECT_EQ(a.err, "");
  EXPECT_EQ(a.exit_status, 0);

  auto plain = NewContainer("notty", {"true"});
  ASSERT_TRUE(CreateTask("notty", plain).ok());
  resize.set_container_id("notty");
  EXPECT_EQ(tasks_->ResizePty(Ctx().get(), resize, &e).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(TasksTest, StdinReachesTheProcessAndCloseIoEndsIt) {
  auto rootfs = NewContainer("cat", {"sh", "-c", "cat; echo done"});
  ASSERT_TRUE(CreateTask("cat", rootfs, /*terminal=*/false, /*stdin_open=*/true).ok());
  Attached a = AttachAndRun(
      "cat", "", [&] { ASSERT_TRUE(Start("cat").ok()); }, "hello\n");
  EXPECT_EQ(a.out, "hello\ndone\n");
  EXPECT_EQ(a.exit_status, 0);
}

TEST_F(TasksTest, PauseFreezesAndResumeThaws) {
  auto rootfs = NewContainer(
      "frz", {"sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done"});
  ASSERT_TRUE(CreateTask("frz", rootfs).ok());
  ASSERT_TRUE(Start("frz").ok());
  const std::string counter = daemon_->state() + "/tasks/default/frz/rootfs/tmp/n";
  auto read = [&] {
    std::string v;
    std::ifstream(counter) >> v;
    return v;
  };
  ASSERT_TRUE(WaitForPath(counter));
  tpb::PauseTaskRequest pause;
  pause.set_container_id("frz");
  google::protobuf::Empty e;
  ASSERT_TRUE(tasks_->Pause(Ctx().get(), pause, &e).ok());
  EXPECT_EQ(StatusOf("frz"), tpb::PAUSED);
  const std::string frozen = read();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(read(), frozen);
  tpb::ResumeTaskRequest resume;
  resume.set_container_id("frz");
  ASSERT_TRUE(tasks_->Resume(Ctx().get(), resume, &e).ok());
  EXPECT_EQ(StatusOf("frz"), tpb::RUNNING);
  std::string now = frozen;
  for (int i = 0; i < 100 && now == frozen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    now = read();
  }
  EXPECT_NE(now, frozen);

  tpb::StatsRequest sreq;
  sreq.set_container_id("frz");
  tpb::StatsResponse stats;
  ASSERT_TRUE(tasks_->Stats(Ctx().get(), sreq, &stats).ok());
  EXPECT_GT(stats.timestamp().seconds(), 0);
  // On a hybrid host the v2 hierarchy has no controllers, so no counters to read.
  absl::StatusOr<std::string> cg = runtime::FindCgroup2Mount();
  std::string controllers;
  if (cg.ok()) std::getline(std::ifstream(*cg + "/cgroup.controllers"), controllers);
  if (controllers.find("pids") != std::string::npos) {
    EXPECT_GT(stats.pids().current(), 0u);
  }
  if (controllers.find("memory") != std::string::npos) {
    EXPECT_GT(stats.memory().usage(), 0u);
  }
}

TEST_F(TasksTest, LogsTailAndFollowUntilTheExit) {
  auto rootfs = NewContainer(
      "lg", {"sh", "-c", "for i in 1 2 3 4; do echo line$i; done; sleep 1; echo late; exit 0"});
  ASSERT_TRUE(CreateTask("lg", rootfs).ok());
  ASSERT_TRUE(Start("lg").ok());
  // Follow from the start, with a tail of 2 of what is there when the call arrives.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  tpb::LogsRequest req;
  req.set_container_id("lg");
  req.set_follow(true);
  req.set_tail(2);
  grpc::ClientContext ctx;
  ctx.AddMetadata("berth-namespace", "default");
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto reader = tasks_->Logs(&ctx, req);
  std::string got;
  tpb::LogsResponse batch;
  while (reader->Read(&batch)) {
    for (const auto& r : batch.records()) got += r.data();
  }
  grpc::Status st = reader->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(got, "line3\nline4\nlate\n");
}

TEST_F(TasksTest, EventsReportTheLifecycle) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  epb::SubscribeRequest sub;
  sub.add_filters("topic~=^/tasks/,event.container_id==ev");
  auto events = epb::Events::NewStub(channel_)->Subscribe(&ctx, sub);
  events->WaitForInitialMetadata();
  auto rootfs = NewContainer("ev", {"sh", "-c", "exit 4"});
  ASSERT_TRUE(CreateTask("ev", rootfs).ok());
  ASSERT_TRUE(Start("ev").ok());
  EXPECT_EQ(Wait("ev"), 4);
  tpb::DeleteTaskRequest del;
  del.set_container_id("ev");
  tpb::DeleteResponse d;
  ASSERT_TRUE(tasks_->Delete(Ctx().get(), del, &d).ok());
  std::vector<std::string> topics;
  epb::Envelope env;
  while (topics.size() < 4 && events->Read(&env)) {
    topics.push_back(env.topic());
    if (env.topic() == "/tasks/exit") {
      berth::events::v1::TaskExit x;
      ASSERT_TRUE(env.event().UnpackTo(&x));
      EXPECT_EQ(x.exit_status(), 4u);
    }
  }
  ctx.TryCancel();
  EXPECT_EQ(topics, (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit",
                                              "/tasks/delete"}));
}

TEST_F(TasksTest, ContainersOutliveADaemonKilledWithSigkill) {
  auto r1 = NewContainer("survivor", {"sleep", "1000"});
  ASSERT_TRUE(CreateTask("survivor", r1).ok());
  ASSERT_TRUE(Start("survivor").ok());
  auto r2 = NewContainer("quitter", {"sh", "-c", "sleep 1; exit 7"});
  ASSERT_TRUE(CreateTask("quitter", r2).ok());
  ASSERT_TRUE(Start("quitter").ok());

  ASSERT_EQ(daemon_->Stop(SIGKILL), 128 + SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // quitter exits meanwhile
  ASSERT_TRUE(daemon_->Start()) << daemon_->Stderr();
  Connect();

  EXPECT_EQ(StatusOf("survivor"), tpb::RUNNING);
  EXPECT_EQ(Wait("quitter"), 7);  // the exit while berthd was down is not lost
  // The survivor still answers: exec into it, then stop it.
  tpb::ExecProcessRequest exec;
  exec.set_container_id("survivor");
  exec.set_exec_id("after");
  exec.set_spec(R"({"args":["echo","still here"],"cwd":"/","env":["PATH=/bin"]})");
  google::protobuf::Empty e;
  ASSERT_TRUE(tasks_->Exec(Ctx().get(), exec, &e).ok());
  Attached a =
      AttachAndRun("survivor", "after", [&] { ASSERT_TRUE(Start("survivor", "after").ok()); });
  EXPECT_EQ(a.out, "still here\n");
  // sleep is the container's pid 1, which ignores SIGTERM unless it handles it.
  ASSERT_TRUE(Kill("survivor", SIGKILL).ok());
  EXPECT_EQ(Wait("survivor"), 128 + SIGKILL);
}

// runc as the configured runtime, with berthd in a mount namespace of its own where the
// cgroup2 hierarchy is at /sys/fs/cgroup (this machine's own /sys/fs/cgroup is a hybrid
// layout whose v1 hierarchies tests must not touch).
class RuncTasksTest : public TasksTest {
 protected:
  void SetUp() override {
    if (access("/usr/sbin/runc", X_OK) != 0) GTEST_SKIP() << "runc is not installed";
    StartDaemon({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                 "mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$@\"", "sh"});
  }
};

TEST_F(RuncTasksTest, RunsStdioExitCodesSignalsAndExec) {
  auto rootfs = NewContainer("rc", {"sh", "-c", "echo via-runc; echo oops >&2; exit 9"}, "runc");
  ASSERT_TRUE(CreateTask("rc", rootfs).ok());
  Attached a = AttachAndRun("rc", "", [&] { ASSERT_TRUE(Start("rc").ok()); });
  EXPECT_EQ(a.out, "via-runc\n");
  EXPECT_EQ(a.err, "oops\n");
  EXPECT_EQ(a.exit_status, 9);

  auto r2 = NewContainer("rc2", {"sleep", "1000"}, "runc");
  ASSERT_TRUE(CreateTask("rc2", r2).ok());
  ASSERT_TRUE(Start("rc2").ok());
  tpb::ExecProcessRequest exec;
  exec.set_container_id("rc2");
  exec.set_exec_id("x");
  exec.set_spec(R"({"args":["sh","-c","echo exec-ok"],"cwd":"/","env":["PATH=/bin"]})");
  google::protobuf::Empty e;
  ASSERT_TRUE(tasks_->Exec(Ctx().get(), exec, &e).ok());
  Attached x = AttachAndRun("rc2", "x", [&] { ASSERT_TRUE(Start("rc2", "x").ok()); });
  EXPECT_EQ(x.out, "exec-ok\n");
  ASSERT_TRUE(Kill("rc2", SIGKILL).ok());
  EXPECT_EQ(Wait("rc2"), 128 + SIGKILL);
}

}  // namespace
}  // namespace berth::e2e
