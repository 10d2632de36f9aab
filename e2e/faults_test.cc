// Shim and runtime faults, and a full disk (docs/reliability.md): a SIGKILLed shim leaves its
// container stopped with exit status 137 and nothing behind, whether berthd is up or down when
// it happens; a runtime that hangs on create is killed after the shim's timeout and reported
// by name while berthd keeps answering; a runtime that fails is reported with its own message;
// and loading an image larger than the disk fails clearly while what is already there keeps
// working. Needs root.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "berth/events/v1/events.pb.h"
#include "berth/services/events/v1/events.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "e2e/reliability.h"

namespace berth::e2e {
namespace {

namespace epb = berth::events::v1;
namespace evpb = berth::services::events::v1;
namespace spb = berth::services::snapshots::v1;
namespace tpb = berth::services::tasks::v1;
using Clock = std::chrono::steady_clock;

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

pid_t ReadPid(const std::string& path) {
  pid_t pid = 0;
  return absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadAll(path)), &pid) ? pid : 0;
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// Polls `done` every 100 ms for up to `seconds`.
template <typename Fn>
bool Eventually(Fn done, int seconds = 20) {
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

// The /tasks/exit events of one namespace, collected from a subscription made at once.
class ExitWatcher {
 public:
  ExitWatcher(TestDaemon& daemon, const std::string& ns) {
    evpb::SubscribeRequest req;
    req.add_filters("topic==/tasks/exit,namespace==" + ns);
    ctx_.AddMetadata("berth-namespace", ns);
    stream_ = evpb::Events::NewStub(daemon.Channel())->Subscribe(&ctx_, req);
    reader_ = std::thread([this] {
      evpb::Envelope env;
      while (stream_->Read(&env)) {
        epb::TaskExit e;
        if (!env.event().UnpackTo(&e)) continue;
        std::lock_guard<std::mutex> l(mu_);
        exits_.push_back(e);
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // subscribed before we act
  }
  ~ExitWatcher() {
    ctx_.TryCancel();
    reader_.join();
  }
  // The exit status reported for `id`'s init, or -1.
  int StatusOf(const std::string& id) {
    std::lock_guard<std::mutex> l(mu_);
    for (const epb::TaskExit& e : exits_) {
      if (e.container_id() == id && e.exec_id().empty()) return static_cast<int>(e.exit_status());
    }
    return -1;
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<evpb::Envelope>> stream_;
  std::thread reader_;
  std::mutex mu_;
  std::vector<epb::TaskExit> exits_;
};

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    // A short runtime timeout; the shims inherit berthd's environment, which tells the fake
    // runtime where to write its pid.
    pids_ = MakeTempDir("fake-runtime") + "/pids";
    setenv("FAKE_RUNTIME_PIDS", pids_.c_str(), 1);
    d_ = std::make_unique<CliDaemon>(
        "faults",
        CliDaemonOptions{.runtimes = {{"hang", Runfile("e2e/fixtures/hanging_runtime.sh")},
                                      {"fail", Runfile("e2e/fixtures/failing_runtime.sh")}},
                         .config = "runtime_timeout: 2s\n"});
    ASSERT_TRUE(d_->started()) << d_->Stderr();
    ASSERT_TRUE(d_->LoadBusybox());
  }
  void TearDown() override {
    if (d_ == nullptr) return;
    d_->RemoveAll();
    CommandResult check = Check();
    EXPECT_EQ(check.exit_code, 0) << check.out;
    d_.reset();
  }

  CommandResult Check() const { return d_->Berth({"system", "check"}); }
  nlohmann::json Inspect(const std::string& name) const {
    nlohmann::json j = nlohmann::json::parse(d_->Berth({"inspect", name}).out, nullptr, false);
    return j.is_array() && !j.empty() ? j[0] : nlohmann::json::object();
  }
  std::string TaskDir(const std::string& id) const {
    return absl::StrCat(d_->state(), "/tasks/", d_->ns(), "/", id);
  }
  std::string CgroupDir(const std::string& id) const {
    return absl::StrCat(Cgroup2Mount(), "/berth/", d_->ns(), "/", id);
  }
  // Stopped with 137, and nothing of its task left: process, task directory, rootfs mount,
  // cgroup, runtime state.
  void ExpectStoppedAndCleanedUp(const std::string& id, pid_t init) {
    EXPECT_TRUE(Eventually([&] {
      nlohmann::json s = Inspect(id)["State"];
      return s.value("Status", "") == "exited" && s.value("ExitCode", 0) == 137;
    })) << Inspect(id).dump(2);
    EXPECT_TRUE(Eventually([&] { return !Alive(init); })) << "init " << init << " still runs";
    EXPECT_TRUE(Eventually([&] { return !Exists(TaskDir(id)); })) << TaskDir(id);
    EXPECT_TRUE(MountsUnder(d_->state() + "/tasks").empty());
    EXPECT_FALSE(Exists(CgroupDir(id))) << CgroupDir(id);
    EXPECT_FALSE(Exists(absl::StrCat(d_->state(), "/runtime/", d_->ns(), "/", id)));
    EXPECT_EQ(Inspect(id)["State"].value("Pid", -1), 0);
  }

  std::string pids_;
  std::unique_ptr<CliDaemon> d_;
};

TEST_F(FaultsTest, KilledShimStopsItsContainerWith137AndCleansUp) {
  CommandResult r = d_->Berth({"run", "-d", "--name", "victim", "busybox", "sleep", "100000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string id(absl::StripAsciiWhitespace(r.out));
  const pid_t shim = ReadPid(TaskDir(id) + "/shim.pid");
  const pid_t init = Inspect(id)["State"].value("Pid", 0);
  ASSERT_GT(shim, 0);
  ASSERT_GT(init, 0);
  ASSERT_TRUE(Exists(CgroupDir(id)));
  ASSERT_EQ(MountsUnder(TaskDir(id)).size(), 1u);
  ExitWatcher exits(*d_, d_->ns());

  ASSERT_EQ(kill(shim, SIGKILL), 0);
  ExpectStoppedAndCleanedUp(id, init);
  EXPECT_TRUE(Eventually([&] { return exits.StatusOf(id) == 137; })) << exits.StatusOf(id);
  CommandResult check = Check();
  EXPECT_EQ(check.exit_code, 0) << check.out;

  // What is left is a stopped container like any other: it starts again.
  r = d_->Berth({"start", "victim"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Inspect(id)["State"].value("Running", false));
}

TEST_F(FaultsTest, ShimKilledWhileBerthdIsDownIsFoundAtRestart) {
  CommandResult r = d_->Berth({"run", "-d", "--name", "victim", "busybox", "sleep", "100000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string id(absl::StripAsciiWhitespace(r.out));
  const pid_t shim = ReadPid(TaskDir(id) + "/shim.pid");
  const pid_t init = Inspect(id)["State"].value("Pid", 0);
  ASSERT_GT(shim, 0);
  d_->Stop(SIGKILL);
  ASSERT_EQ(kill(shim, SIGKILL), 0);
  ASSERT_TRUE(d_->Start()) << d_->Stderr();
  ExpectStoppedAndCleanedUp(id, init);
  CommandResult check = Check();
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

TEST_F(FaultsTest, HangingRuntimeTimesOutByNameWhileBerthdAnswers) {
  const auto t0 = Clock::now();
  CommandResult run;
  std::thread creator([&] {
    run = d_->Berth({"run", "-d", "--name", "stuck", "--runtime", "hang", "busybox", "true"});
  });
  // While the shim waits for the runtime, berthd serves everyone else.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto p0 = Clock::now();
  CommandResult ps = d_->Berth({"ps", "-a"});
  const auto ps_took = Clock::now() - p0;
  creator.join();
  const auto took = Clock::now() - t0;

  std::cout << "hanging runtime: berth run said: " << run.err << std::flush;
  EXPECT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_LT(ps_took, std::chrono::seconds(2));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(run.err, "hanging_runtime.sh create: did not finish within 2s"))
      << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "runtime_timeout")) << run.err;
  EXPECT_GE(took, std::chrono::seconds(2));
  EXPECT_LT(took, std::chrono::seconds(30));
  // The runtime went, and so did everything the failed create had made.
  std::vector<std::string> pids = absl::StrSplit(ReadAll(pids_), '\n', absl::SkipEmpty());
  ASSERT_FALSE(pids.empty());
  for (const std::string& p : pids) {
    pid_t pid = 0;
    ASSERT_TRUE(absl::SimpleAtoi(p, &pid));
    EXPECT_TRUE(Eventually([&] { return !Alive(pid); }, 5)) << "runtime " << pid << " still runs";
  }
  EXPECT_TRUE(ShimsUnder(d_->state()).empty());
  EXPECT_TRUE(MountsUnder(d_->state()).empty());
  CommandResult check = Check();
  EXPECT_EQ(check.exit_code, 0) << check.out;
  // berthd is not stuck: a container on the real runtime runs.
  CommandResult ok = d_->Berth({"run", "--rm", "busybox", "echo", "still here"});
  EXPECT_EQ(ok.out, "still here\n") << ok.err;
}

TEST_F(FaultsTest, FailingRuntimeIsReportedWithItsOwnMessage) {
  CommandResult r = d_->Berth({"run", "--rm", "--runtime", "fail", "busybox", "true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err,
                                "failing_runtime.sh create: fake runtime: create refused on "
                                "purpose"))
      << r.err;
  EXPECT_TRUE(ShimsUnder(d_->state()).empty());
  EXPECT_TRUE(MountsUnder(d_->state()).empty());
  CommandResult check = Check();
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

TEST_F(FaultsTest, StartCutShortLeavesACreatedTaskThatRmRemoves) {
  // What `berth start` leaves when berthd dies between creating the task and starting it.
  CommandResult r = d_->Berth({"create", "--name", "halfway", "busybox", "sleep", "100000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string id(absl::StripAsciiWhitespace(r.out));
  spb::MountsRequest mreq;
  mreq.set_key(id);
  spb::MountsResponse mounts;
  ASSERT_TRUE(spb::Snapshots::NewStub(d_->Channel())
                  ->Mounts(TestDaemon::Context(d_->ns()).get(), mreq, &mounts)
                  .ok());
  tpb::CreateTaskRequest creq;
  creq.set_container_id(id);
  *creq.mutable_rootfs() = mounts.mounts();
  tpb::CreateTaskResponse cresp;
  grpc::Status st =
      tpb::Tasks::NewStub(d_->Channel())->Create(TestDaemon::Context(d_->ns()).get(), creq, &cresp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  d_->Stop(SIGKILL);
  ASSERT_TRUE(d_->Start()) << d_->Stderr();
  EXPECT_EQ(Inspect(id)["State"].value("Status", ""), "created");

  r = d_->Berth({"rm", "halfway"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Eventually([&] { return !Alive(static_cast<pid_t>(cresp.pid())); }, 5));
  EXPECT_FALSE(Exists(TaskDir(id)));
  EXPECT_FALSE(Exists(CgroupDir(id)));
  EXPECT_TRUE(ShimsUnder(d_->state()).empty());
}

// The root on a 48 MiB tmpfs: an image of 64 MiB cannot fit.
TEST(DiskFullTest, LoadLargerThanTheDiskFailsClearlyAndKeepsWhatIsThere) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  CliDaemon d("diskfull");
  ASSERT_TRUE(d.started()) << d.Stderr();
  const std::string root = d.root();
  d.Stop();
  ASSERT_EQ(mount("tmpfs", root.c_str(), "tmpfs", 0, "size=48m,mode=0700"), 0) << errno;
  struct Unmount {
    CliDaemon& d;
    std::string root;
    ~Unmount() {
      d.RemoveAll();
      d.Stop();
      if (umount2(root.c_str(), 0) != 0) umount2(root.c_str(), MNT_DETACH);
    }
  } unmount{d, root};
  ASSERT_TRUE(d.Start()) << d.Stderr();
  ASSERT_TRUE(d.LoadBusybox());
  CommandResult r = d.Berth({"run", "-d", "--name", "keep", "busybox", "sleep", "100000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string big = d.MakeBlobImage("too-big", 64);
  ASSERT_FALSE(big.empty());

  r = d.Berth({"load", "-q", "-i", big});
  std::cout << "disk full: berth load said: " << r.err << std::flush;
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "No space left on device") ||
              absl::StrContains(r.err, "no space left on device"))
      << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, root)) << "the message names what was written: " << r.err;
  EXPECT_FALSE(absl::StrContains(d.Berth({"images"}).out, "too-big"));

  // What was there still works, and the failed load gave its space back.
  struct statvfs fs;
  ASSERT_EQ(statvfs(root.c_str(), &fs), 0);
  EXPECT_GT(static_cast<double>(fs.f_bavail) * fs.f_frsize, 24.0 * (1 << 20))
      << "free bytes after the failed load";
  r = d.Berth({"exec", "keep", "echo", "alive"});
  EXPECT_EQ(r.out, "alive\n") << r.err;
  r = d.Berth({"run", "--rm", "busybox", "sh", "-c", "echo written > /tmp/f && cat /tmp/f"});
  EXPECT_EQ(r.out, "written\n") << r.err;
  r = d.Berth({"system", "check"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace berth::e2e
