// berth build end to end: the real CLI against a real berthd (with berth-shim and
// berth-runtime), Dockerfiles covering every instruction, the image config and the files of
// the result (read from its snapshot), multi-stage builds with COPY --from and --target, the
// build cache (all hits and the same digest on a rebuild; a changed file rebuilds from its
// COPY on), and failures that name the Dockerfile line and leave nothing behind. Needs root.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/content/v1/content.grpc.pb.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "e2e/harness/daemon.h"
#include "e2e/harness/engine.h"
#include "e2e/harness/process.h"
#include "snapshotter/mount/mount.h"

namespace berth::e2e {
namespace {

namespace cpb = berth::services::containers::v1;
namespace ctpb = berth::services::content::v1;
namespace ipb = berth::services::images::v1;
namespace spb = berth::services::snapshots::v1;
namespace tpb = berth::services::tasks::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

class BuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    daemon_ = std::make_unique<Engine>(EngineOptions{.prefix = "berth-build"});
    ASSERT_TRUE(daemon_->started()) << daemon_->Stderr();
    CommandResult r = daemon_->LoadImage("busybox");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void TearDown() override {
    if (geteuid() != 0) return;
    ExpectNothingLeft();
  }

  CommandResult Berth(std::vector<std::string> args) { return daemon_->Berth(std::move(args)); }

  // A context directory with these files (path → content); "Dockerfile" among them.
  std::string Context(const std::map<std::string, std::string>& files) {
    const std::string dir = daemon_->dir() + "/ctx" + std::to_string(++contexts_);
    for (const auto& [name, data] : files) Put(dir, name, data);
    return dir;
  }
  static void Put(const std::string& dir, const std::string& name, const std::string& data) {
    const std::string p = dir + "/" + name;
    RunCommand({"/bin/mkdir", "-p", p.substr(0, p.rfind('/'))});
    std::ofstream(p) << data;
  }

  CommandResult Build(const std::string& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"build", "--progress", "plain"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(dir);
    return Berth(args);
  }

  // The image's config document.
  json Config(const std::string& name) {
    ipb::GetImageRequest req;
    req.set_name(name);
    ipb::GetImageResponse resp;
    EXPECT_TRUE(ipb::Images::NewStub(daemon_->Channel())
                    ->Get(TestDaemon::Context().get(), req, &resp)
                    .ok());
    json manifest = json::parse(Blob(resp.image().target().digest()), nullptr, false);
    return json::parse(Blob(manifest["config"]["digest"].get<std::string>()), nullptr, false);
  }
  std::string ConfigDigest(const std::string& name) {
    ipb::GetImageRequest req;
    req.set_name(name);
    ipb::GetImageResponse resp;
    ipb::Images::NewStub(daemon_->Channel())->Get(TestDaemon::Context().get(), req, &resp);
    json manifest = json::parse(Blob(resp.image().target().digest()), nullptr, false);
    return manifest["config"]["digest"].get<std::string>();
  }
  std::string Blob(const std::string& digest) {
    ctpb::ReadContentRequest req;
    req.set_digest(digest);
    auto ctx = TestDaemon::Context();
    auto reader = ctpb::Content::NewStub(daemon_->Channel())->Read(ctx.get(), req);
    std::string out;
    ctpb::ReadContentResponse resp;
    while (reader->Read(&resp)) out += resp.data();
    EXPECT_TRUE(reader->Finish().ok()) << digest;
    return out;
  }

  // Runs `check` with the image's files mounted read-only (a view of its top layer).
  void WithRootfs(const std::string& name, const std::function<void(const std::string&)>& check) {
    ipb::UnpackImageRequest ureq;
    ureq.set_name(name);
    ipb::UnpackImageResponse uresp;
    ASSERT_TRUE(ipb::Images::NewStub(daemon_->Channel())
                    ->Unpack(TestDaemon::Context().get(), ureq, &uresp)
                    .ok());
    auto snaps = spb::Snapshots::NewStub(daemon_->Channel());
    spb::ViewSnapshotRequest vreq;
    vreq.set_key("test-view");
    vreq.set_parent(uresp.chain_id());
    spb::ViewSnapshotResponse vresp;
    ASSERT_TRUE(snaps->View(TestDaemon::Context().get(), vreq, &vresp).ok());
    std::vector<snapshotter::Mount> mounts;
    for (const auto& m : vresp.mounts()) {
      mounts.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
    }
    const std::string dir = daemon_->dir() + "/view";
    ::mkdir(dir.c_str(), 0700);
    ASSERT_TRUE(snapshotter::MountAll(mounts, dir).ok());
    check(dir);
    EXPECT_TRUE(snapshotter::Unmount(dir).ok());
    ::rmdir(dir.c_str());
    spb::RemoveSnapshotRequest rm;
    rm.set_key("test-view");
    google::protobuf::Empty e;
    snaps->Remove(TestDaemon::Context().get(), rm, &e);
  }

  // No active snapshot or view, container, task, mount or temporary directory.
  void ExpectNothingLeft() {
    spb::ListSnapshotsRequest lreq;
    auto ctx = TestDaemon::Context();
    auto list = spb::Snapshots::NewStub(daemon_->Channel())->List(ctx.get(), lreq);
    spb::ListSnapshotsResponse batch;
    while (list->Read(&batch)) {
      for (const spb::Info& i : batch.info()) {
        EXPECT_EQ(i.kind(), spb::COMMITTED) << "leaked snapshot " << i.name();
      }
    }
    // `run --rm` containers go just after their task exits.
    cpb::ListContainersResponse cs;
    for (int i = 0; i < 50; ++i) {
      cs.Clear();
      cpb::Containers::NewStub(daemon_->Channel())->List(TestDaemon::Context().get(), {}, &cs);
      if (cs.containers_size() == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(cs.containers_size(), 0);
    tpb::ListTasksResponse ts;
    tpb::Tasks::NewStub(daemon_->Channel())->List(TestDaemon::Context().get(), {}, &ts);
    EXPECT_EQ(ts.tasks_size(), 0);
    std::ifstream mi("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mi, line)) {
      EXPECT_THAT(line, Not(HasSubstr(daemon_->dir()))) << "leaked mount";
      EXPECT_THAT(line, Not(HasSubstr(daemon_->root() + "/build"))) << "leaked mount";
    }
    // A finished build's directory is removed just after it answers.
    CommandResult r;
    for (int i = 0; i < 50; ++i) {
      r = RunCommand({"/bin/ls", "-A", daemon_->root() + "/build/tmp"});
      if (r.out.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(r.out, "") << "leftover build directories";
  }

  bool HasImage(const std::string& name) {
    ipb::GetImageRequest req;
    req.set_name(name);
    ipb::GetImageResponse resp;
    return ipb::Images::NewStub(daemon_->Channel())
        ->Get(TestDaemon::Context().get(), req, &resp)
        .ok();
  }

  static bool Exists(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
  }
  static struct stat Stat(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st;
  }
  static std::string Read(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static int Count(const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  std::unique_ptr<Engine> daemon_;
  int contexts_ = 0;
};

const char kEveryInstruction[] = R"(# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS base
LABEL maintainer.team="build" \
      "quoted key"="a value"
MAINTAINER someone@example.com
ARG GREETING=hello
ENV APP_HOME=/home/app LEGACY_STYLE_OFF=1
ENV OLD_STYLE value with spaces
RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && \
    echo 'app:x:1000:' >> /etc/group
WORKDIR ${APP_HOME}/work
COPY --chown=app:app --chmod=0640 conf/*.conf ./conf/
COPY data.txt /opt/data.txt
ADD payload.tar /opt/unpacked/
COPY . /ctxcopy/
RUN ["/bin/sh", "-c", "echo $GREETING from $APP_HOME > /opt/run.txt; id -u > /opt/uid-root"]
SHELL ["/bin/sh", "-e", "-c"]
USER app
WORKDIR /home/app/mine
RUN id -u > uid && pwd > pwd
EXPOSE 80 53/udp
VOLUME ["/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD test -f /opt/data.txt
ONBUILD RUN echo triggered > /tmp/onbuild
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo done"]
)";

TEST_F(BuildTest, EveryInstruction) {
  // payload.tar: a tar that ADD unpacks.
  const std::string ctx = Context({{"Dockerfile", kEveryInstruction},
                                   {"conf/a.conf", "a=1\n"},
                                   {"conf/b.conf", "b=2\n"},
                                   {"conf/skip.txt", "not matched\n"},
                                   {"data.txt", "data\n"},
                                   {"secret.key", "do not send\n"},
                                   {".dockerignore", "# comment\nsecret.key\n"},
                                   {"payload/in/side.txt", "inside\n"}});
  ASSERT_EQ(
      RunCommand({"/bin/tar", "-C", ctx + "/payload", "-cf", ctx + "/payload.tar", "in"}).exit_code,
      0);
  ::chmod((ctx + "/data.txt").c_str(), 0604);
  CommandResult r = Build(ctx, {"-t", "every:1", "--build-arg", "GREETING=hi"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("Successfully tagged every:1"));
  EXPECT_THAT(r.err, HasSubstr("MAINTAINER is deprecated"));

  json doc = Config("every:1");
  const json& c = doc["config"];
  EXPECT_EQ(doc["author"], "someone@example.com");
  EXPECT_EQ(doc["architecture"], "amd64");
  EXPECT_EQ(c["Labels"]["maintainer.team"], "build");
  EXPECT_EQ(c["Labels"]["quoted key"], "a value");
  EXPECT_THAT(c["Env"].dump(), HasSubstr("\"APP_HOME=/home/app\""));
  EXPECT_THAT(c["Env"].dump(), HasSubstr("\"OLD_STYLE=value with spaces\""));
  EXPECT_THAT(c["Env"].dump(), Not(HasSubstr("GREETING")));  // an ARG is not kept
  EXPECT_EQ(c["WorkingDir"], "/home/app/mine");
  EXPECT_EQ(c["User"], "app");
  EXPECT_EQ(c["ExposedPorts"], json({{"80/tcp", json::object()}, {"53/udp", json::object()}}));
  EXPECT_EQ(c["Volumes"], json({{"/data", json::object()}}));
  EXPECT_EQ(c["StopSignal"], "SIGINT");
  EXPECT_EQ(c["Shell"], json({"/bin/sh", "-e", "-c"}));
  EXPECT_EQ(c["Healthcheck"]["Test"], json({"CMD-SHELL", "test -f /opt/data.txt"}));
  EXPECT_EQ(c["Healthcheck"]["Interval"], 30000000000LL);
  EXPECT_EQ(c["Healthcheck"]["Retries"], 2);
  EXPECT_EQ(c["OnBuild"], json({"RUN echo triggered > /tmp/onbuild"}));
  EXPECT_EQ(c["Entrypoint"], json({"/bin/sh", "-c"}));
  EXPECT_EQ(c["Cmd"], json({"echo done"}));
  // History as Docker writes it: one entry per instruction (ARG aside), layers where files
  // changed; the config's time is the newest entry's.
  const json& h = doc["history"];
  std::vector<std::string> created_by;
  int layers = 0;
  for (const json& e : h) {
    created_by.push_back(e["created_by"]);
    if (!e.value("empty_layer", false)) ++layers;
  }
  // (The fixture's base image has one layer and no history.)
  EXPECT_EQ(layers + 1, static_cast<int>(doc["rootfs"]["diff_ids"].size()));
  EXPECT_THAT(created_by, ::testing::Contains("WORKDIR /home/app/work"));
  EXPECT_THAT(created_by, ::testing::Contains("COPY data.txt /opt/data.txt"));
  EXPECT_THAT(created_by, ::testing::Contains("RUN |1 GREETING=hi /bin/sh -c echo $GREETING from "
                                              "$APP_HOME > /opt/run.txt; id -u > /opt/uid-root"));
  EXPECT_EQ(doc["created"], h.back()["created"]);

  WithRootfs("every:1", [&](const std::string& root) {
    EXPECT_EQ(Read(root + "/opt/data.txt"), "data\n");
    EXPECT_EQ(Stat(root + "/opt/data.txt").st_mode & 07777, 0604u);
    EXPECT_EQ(Stat(root + "/opt/data.txt").st_uid, 0u);
    EXPECT_EQ(Read(root + "/home/app/work/conf/a.conf"), "a=1\n");
    EXPECT_EQ(Stat(root + "/home/app/work/conf/a.conf").st_uid, 1000u);
    EXPECT_EQ(Stat(root + "/home/app/work/conf/a.conf").st_gid, 1000u);
    EXPECT_EQ(Stat(root + "/home/app/work/conf/b.conf").st_mode & 07777, 0640u);
    EXPECT_EQ(Stat(root + "/home/app/work/conf").st_uid, 1000u);  // made for the copy
    EXPECT_FALSE(Exists(root + "/home/app/work/conf/skip.txt"));
    EXPECT_EQ(Read(root + "/opt/unpacked/in/side.txt"), "inside\n");
    EXPECT_EQ(Read(root + "/opt/run.txt"), "hi from /home/app\n");
    EXPECT_EQ(Read(root + "/opt/uid-root"), "0\n");
    EXPECT_EQ(Read(root + "/home/app/mine/uid"), "1000\n");
    EXPECT_EQ(Read(root + "/home/app/mine/pwd"), "/home/app/mine\n");
    EXPECT_EQ(Stat(root + "/home/app/work").st_uid, 0u);     // made before USER app…
    EXPECT_EQ(Stat(root + "/home/app/mine").st_uid, 1000u);  // …and after it
    EXPECT_EQ(Read(root + "/ctxcopy/data.txt"), "data\n");
    EXPECT_TRUE(Exists(root + "/ctxcopy/payload/in/side.txt"));
    EXPECT_FALSE(Exists(root + "/ctxcopy/secret.key"));  // .dockerignore
    EXPECT_FALSE(Exists(root + "/tmp/onbuild"));
  });

  // The image runs, with its entrypoint and command.
  r = Berth({"run", "--rm", "every:1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "done\n");

  // ONBUILD fires in an image built FROM it, and is not passed on.
  const std::string child = Context({{"Dockerfile", "FROM every:1\nUSER root\n"}});
  r = Build(child, {"-t", "child"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("ONBUILD RUN echo triggered"));
  EXPECT_FALSE(Config("child")["config"].contains("OnBuild"));
  WithRootfs("child", [&](const std::string& root) {
    EXPECT_EQ(Read(root + "/tmp/onbuild"), "triggered\n");
  });
}

TEST_F(BuildTest, MultiStageCopyFromAndTarget) {
  const std::string ctx = Context({{"Dockerfile", R"(FROM busybox AS builder
RUN mkdir -p /out && echo built > /out/artifact && chmod 0700 /out/artifact && \
    chown 12:34 /out/artifact
FROM busybox AS broken
RUN exit 7
FROM scratch AS tools
COPY --from=busybox /bin/busybox /bin/busybox
FROM scratch
COPY --from=builder /out/ /app/
COPY --from=2 /bin/busybox /bin/
COPY --from=builder --chown=5:6 /out/artifact /owned
CMD ["/app/artifact"]
)"}});
  // "broken" is not needed, so never built.
  CommandResult r = Build(ctx, {"-t", "multi"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("exit 7")));
  json doc = Config("multi");
  EXPECT_EQ(doc["rootfs"]["diff_ids"].size(), 3u);  // only the final stage's layers
  WithRootfs("multi", [&](const std::string& root) {
    EXPECT_EQ(Read(root + "/app/artifact"), "built\n");
    EXPECT_EQ(Stat(root + "/app/artifact").st_mode & 07777, 0700u);
    EXPECT_EQ(Stat(root + "/app/artifact").st_uid, 12u);  // --from keeps owners
    EXPECT_EQ(Stat(root + "/app/artifact").st_gid, 34u);
    EXPECT_EQ(Stat(root + "/owned").st_uid, 5u);
    EXPECT_EQ(Stat(root + "/owned").st_gid, 6u);
    EXPECT_TRUE(S_ISREG(Stat(root + "/bin/busybox").st_mode));
    EXPECT_FALSE(Exists(root + "/bin/sh"));
  });
  // --target stops at a stage; the failing one fails when asked for.
  r = Build(ctx, {"-t", "builder-only", "--target", "builder"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  WithRootfs("builder-only", [&](const std::string& root) {
    EXPECT_TRUE(S_ISREG(Stat(root + "/bin/busybox").st_mode));
    EXPECT_EQ(Read(root + "/out/artifact"), "built\n");
  });
  r = Build(ctx, {"-t", "nope", "--target", "broken"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Dockerfile:5: RUN exit 7"));
  EXPECT_THAT(r.err, HasSubstr("exit code: 7"));
  EXPECT_FALSE(HasImage("nope"));
  r = Build(ctx, {"--target", "missing"});
  EXPECT_THAT(r.err, HasSubstr("target stage \"missing\" could not be found"));
}

TEST_F(BuildTest, CacheHitsAndInvalidation) {
  const std::string ctx = Context({{"Dockerfile", R"(FROM busybox
ENV A=1
RUN echo one > /one
COPY first.txt /first.txt
RUN cat /first.txt > /copy-of-first
COPY second.txt /second.txt
RUN date +%s%N > /stamp
CMD ["cat", "/second.txt"]
)"},
                                   {"first.txt", "1\n"},
                                   {"second.txt", "2\n"}});
  CommandResult first = Build(ctx, {"-t", "cached"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(Count(first.err, "CACHED"), 0);
  const std::string digest = ConfigDigest("cached");

  // Nothing changed: every step after FROM is a cache hit and the image is the same.
  CommandResult again = Build(ctx, {"-t", "cached"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Count(again.err, "CACHED"), 7) << again.err;
  EXPECT_EQ(ConfigDigest("cached"), digest);
  CommandResult quiet = Build(ctx, {"-q", "-t", "cached"});
  EXPECT_EQ(std::string(absl::StripAsciiWhitespace(quiet.out)), digest);

  // A touched file (same content) is still a hit; a changed one rebuilds from its COPY on.
  struct timespec times[2] = {{1, 0}, {1, 0}};
  ::utimensat(AT_FDCWD, (ctx + "/second.txt").c_str(), times, 0);
  EXPECT_EQ(Count(Build(ctx, {"-t", "cached"}).err, "CACHED"), 7);
  Put(ctx, "second.txt", "changed\n");
  CommandResult changed = Build(ctx, {"-t", "cached"});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_EQ(Count(changed.err, "CACHED"), 4) << changed.err;  // ENV, RUN, COPY, RUN
  EXPECT_THAT(changed.err, HasSubstr("#6 [6/8] COPY second.txt /second.txt\n#6 DONE"));
  EXPECT_NE(ConfigDigest("cached"), digest);
  EXPECT_EQ(Berth({"run", "--rm", "cached"}).out, "changed\n");

  // --no-cache runs everything again.
  CommandResult none = Build(ctx, {"-t", "cached", "--no-cache"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(Count(none.err, "CACHED"), 0);

  // Pruning forgets the cache.
  EXPECT_EQ(Berth({"builder", "prune", "-f"}).exit_code, 0);
  EXPECT_EQ(Count(Build(ctx, {"-t", "cached"}).err, "CACHED"), 0);
}

TEST_F(BuildTest, FailuresNameTheLineAndLeaveNothing) {
  struct Case {
    std::string dockerfile;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"FROM busybox\nRUN echo before\nRUN echo to-stdout; echo to-stderr >&2; exit 3\nRUN echo "
       "never\n",
       {"Dockerfile:3: RUN echo to-stdout", "exit code: 3", "to-stdout", "to-stderr"}},
      {"FROM busybox\nCOPY missing.txt /x\n",
       {"Dockerfile:2: COPY missing.txt /x", "\"missing.txt\": no such file or directory"}},
      {"FROM busybox\nCOPY ../outside /x\n", {"Dockerfile:2:", "outside the build context"}},
      {"FROM busybox\nRUN true\n\nFORM busybox\n",
       {"Dockerfile:4: unknown instruction: FORM (did you mean FROM?)"}},
      {"FROM busybox\nADD https://example.com/x.tgz /x\n", {"Dockerfile:2:", "no network access"}},
      {"FROM no-such-image\n", {"Dockerfile:1:", "no image docker.io/library/no-such-image"}},
      {"FROM busybox\nCOPY --chown=nobody-here a /a\n",
       {"Dockerfile:2:", "unable to find user nobody-here"}},
  };
  for (const Case& c : cases) {
    const std::string ctx = Context({{"Dockerfile", c.dockerfile}, {"a", "a"}});
    CommandResult r = Build(ctx, {"-t", "failed"});
    EXPECT_EQ(r.exit_code, 1) << c.dockerfile;
    for (const std::string& w : c.want) EXPECT_THAT(r.err, HasSubstr(w)) << c.dockerfile;
    EXPECT_FALSE(HasImage("failed")) << c.dockerfile;
    ExpectNothingLeft();
  }
  // In tty mode (and -q) the failed step's output is shown again with the error.
  const std::string ctx =
      Context({{"Dockerfile", "FROM busybox\nRUN echo why-it-failed; false\n"}});
  CommandResult q = Berth({"build", "-q", ctx});
  EXPECT_EQ(q.exit_code, 1);
  EXPECT_THAT(q.err, HasSubstr("why-it-failed"));
  EXPECT_THAT(q.err, HasSubstr("Dockerfile:2:"));
}

TEST_F(BuildTest, BuildInterruptedByADaemonCrashIsCleanedUp) {
  const std::string ctx = Context({{"Dockerfile", "FROM busybox\nRUN sleep 60\n"}});
  Child build(daemon_->BerthArgv({"build", "--progress", "plain", ctx}));
  // Wait for the RUN's container, then kill berthd under it.
  bool running = false;
  for (int i = 0; i < 100 && !running; ++i) {
    cpb::ListContainersResponse cs;
    cpb::Containers::NewStub(daemon_->Channel())->List(TestDaemon::Context().get(), {}, &cs);
    tpb::ListTasksResponse ts;
    tpb::Tasks::NewStub(daemon_->Channel())->List(TestDaemon::Context().get(), {}, &ts);
    running =
        cs.containers_size() == 1 && ts.tasks_size() == 1 && ts.tasks(0).status() == tpb::RUNNING;
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(running);
  EXPECT_EQ(daemon_->Stop(SIGKILL), 128 + SIGKILL);
  EXPECT_NE(build.Wait(std::chrono::seconds(20)), 0);
  ASSERT_TRUE(daemon_->Start()) << daemon_->Stderr();
  // The next build removes what the interrupted one left: its container and task (the
  // process is killed), its active snapshot; the daemon's start removed its directory.
  const std::string next = Context({{"Dockerfile", "FROM busybox\nRUN true\n"}});
  CommandResult r = Build(next);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(BuildTest, Heredocs) {
  const std::string ctx = Context({{"Dockerfile", R"(FROM busybox
ARG WHO=world
RUN <<EOF
echo hello > /h1
echo second >> /h1
EOF
RUN cat > /h2 <<'END'
literal $WHO
END
COPY <<EOF /etc/greeting
hello $WHO "quoted"
EOF
)"}});
  CommandResult r = Build(ctx, {"-t", "heredocs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  WithRootfs("heredocs", [&](const std::string& root) {
    EXPECT_EQ(Read(root + "/h1"), "hello\nsecond\n");
    EXPECT_EQ(Read(root + "/h2"), "literal $WHO\n");
    EXPECT_EQ(Read(root + "/etc/greeting"), "hello world \"quoted\"\n");
  });
}

TEST_F(BuildTest, ReadmeBusyboxFromScratch) {
  const std::string ctx = Context({{"Dockerfile", R"(FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["sh"]
)"}});
  ASSERT_EQ(RunCommand({"/bin/cp", "/bin/busybox", ctx + "/busybox"}).exit_code, 0);
  CommandResult r = Build(ctx, {"-t", "bb"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  WithRootfs("bb", [&](const std::string& root) {
    EXPECT_TRUE(S_ISLNK(Stat(root + "/bin/sh").st_mode));
    // The mount points the runtime made for RUN are not part of the image.
    EXPECT_FALSE(Exists(root + "/proc"));
    EXPECT_FALSE(Exists(root + "/dev"));
  });
  r = Berth({"run", "--rm", "bb", "echo", "hello from berth"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello from berth\n");
}

}  // namespace
}  // namespace berth::e2e
