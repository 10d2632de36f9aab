// The everyday container verbs through the real CLI against a real berthd: ps, stop, restart,
// kill, pause, unpause, wait, rm, container prune, logs, inspect, top, stats, rename, events,
// image prune, system df and system prune, the container/image/system groups, and the errors
// a new user meets (no such container, name in use, bad flag values), each one line with
// Docker's exit code. One daemon serves the suite, in a namespace of its own; every test
// removes what it made. Nothing here asserts on timing: state changes are polled for.
// Needs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "e2e/harness/engine.h"
#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

using nlohmann::json;

const std::string kBerth = Runfile("ctl/berth");
// Containers' cgroups go under /berth/<namespace>/: one of our own, removed at the end.
const char kNs[] = "e2e-cli";

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

// Polls `done` until it holds or 20 s pass.
bool Eventually(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    daemon_ = new Engine({.prefix = "berth-cli", .ns = kNs});
    if (!daemon_->started()) return;
    for (const auto& [name, extra] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"busybox", {}}, {"other", {"--cmd", "echo", "other"}}}) {
      CommandResult r = daemon_->LoadImage(name, extra);
      if (r.exit_code != 0) {
        setup_error_ = r.err;
        return;
      }
    }
  }

  static void TearDownTestSuite() {
    // The namespace is the suite's own: its containers and its cgroup go with the daemon.
    delete daemon_;
    daemon_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(daemon_ != nullptr && daemon_->started())
        << (daemon_ != nullptr ? daemon_->Stderr() : "");
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  void TearDown() override {
    for (const std::string& name : made_) Berth({"rm", "-f", "-v", name});
    // The images other tests rely on stay.
    for (const std::string image : {"busybox", "other"}) {
      if (Berth({"image", "inspect", image}).exit_code != 0) {
        daemon_->Load(daemon_->Archive(image));
      }
    }
  }

  static CommandResult Berth(std::vector<std::string> args) {
    return daemon_->Berth(std::move(args));
  }

  // `berth run -d --name NAME ARGS…`; the container goes in TearDown.
  std::string RunDetached(const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> cmd = {"run", "-d", "--name", name};
    cmd.insert(cmd.end(), args.begin(), args.end());
    made_.push_back(name);
    CommandResult r = Berth(cmd);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Trim(r.out);
  }

  // The STATUS `ps` shows for a container ("" when it is not listed).
  std::string Status(const std::string& name) {
    CommandResult r =
        Berth({"ps", "-a", "--filter", "name=^" + name + "$", "--format", "{{.Status}}"});
    return Trim(r.out);
  }

  std::string State(const std::string& name) {
    return Trim(Berth({"inspect", "--format", "{{.State.Status}}", name}).out);
  }

  // Exactly one line on stderr, and the exit code.
  static void ExpectError(const CommandResult& r, int code, const std::string& text) {
    EXPECT_EQ(r.exit_code, code) << r.out << r.err;
    EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, text)) << r.err;
  }

  static Engine* daemon_;
  static std::string setup_error_;
  std::vector<std::string> made_;
};

Engine* CliTest::daemon_ = nullptr;
std::string CliTest::setup_error_;

TEST_F(CliTest, PsListsFiltersAndFormatsAsDocker) {
  const std::string web = RunDetached("ps-web", {"-l", "app=shop", "busybox", "sleep", "1000"});
  made_.push_back("ps-done");
  ASSERT_EQ(Berth({"run", "--name", "ps-done", "busybox", "sh", "-c", "exit 3"}).exit_code, 3);
  made_.push_back("ps-fresh");
  ASSERT_EQ(Berth({"create", "--name", "ps-fresh", "busybox", "true"}).exit_code, 0);

  // The default table: Docker's columns, running containers only, the familiar image name.
  CommandResult r = Berth({"ps"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  for (const char* column :
       {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"}) {
    EXPECT_TRUE(absl::StrContains(lines[0], column)) << lines[0];
  }
  EXPECT_TRUE(absl::StartsWith(lines[1], web.substr(0, 12) + "   busybox   \"sleep 1000\""))
      << lines[1];
  EXPECT_TRUE(absl::StrContains(lines[1], "   Up ")) << lines[1];
  EXPECT_TRUE(absl::EndsWith(lines[1], "ps-web")) << lines[1];

  r = Berth({"ps", "-a", "--format", "{{.Names}}|{{.State}}|{{.Status}}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> all = Lines(r.out);
  ASSERT_EQ(all.size(), 3u) << r.out;  // newest first
  EXPECT_EQ(all[0], "ps-fresh|created|Created");
  EXPECT_TRUE(absl::StartsWith(all[1], "ps-done|exited|Exited (3) ")) << all[1];
  EXPECT_TRUE(absl::EndsWith(all[1], " ago")) << all[1];
  EXPECT_TRUE(absl::StartsWith(all[2], "ps-web|running|Up ")) << all[2];

  EXPECT_EQ(Trim(Berth({"ps", "-q"}).out), web.substr(0, 12));
  EXPECT_EQ(Trim(Berth({"ps", "-q", "--no-trunc"}).out), web);
  EXPECT_EQ(Trim(Berth({"ps", "-l", "--format", "{{.Names}}"}).out), "ps-fresh");
  EXPECT_EQ(Lines(Berth({"ps", "-n", "2", "-q"}).out).size(), 2u);
  EXPECT_EQ(Trim(Berth({"ps", "--filter", "status=exited", "--format", "{{.Names}}"}).out),
            "ps-done");
  EXPECT_EQ(Trim(Berth({"ps", "--filter", "exited=3", "--format", "{{.Names}}"}).out), "ps-done");
  EXPECT_EQ(Trim(Berth({"ps", "-a", "--filter", "label=app=shop", "--format", "{{.Names}}"}).out),
            "ps-web");
  EXPECT_EQ(Trim(Berth({"ps", "-a", "-f", "name=fresh", "--format", "{{.Names}}"}).out),
            "ps-fresh");
  EXPECT_EQ(Trim(Berth({"ps", "-f", "id=" + web.substr(0, 8), "-q"}).out), web.substr(0, 12));
  EXPECT_EQ(Lines(Berth({"ps", "-a", "-f", "ancestor=busybox", "-q"}).out).size(), 3u);
  EXPECT_EQ(Trim(Berth({"ps", "-a", "-f", "ancestor=other", "-q"}).out), "");

  r = Berth({"ps", "--format", "table {{.Names}}\t{{.Label \"app\"}}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out), (std::vector<std::string>{"NAMES     LABEL", "ps-web    shop"}));
  r = Berth({"ps", "--format", "{{.Command}}", "--no-trunc"});
  EXPECT_EQ(Trim(r.out), "\"sleep 1000\"");
  r = Berth({"ps", "-s", "--format", "{{.Size}}"});
  EXPECT_TRUE(absl::StrContains(r.out, "(virtual ")) << r.out;
  r = Berth({"ps", "--format", "json"});
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["Names"], "ps-web");

  ExpectError(Berth({"ps", "--filter", "colour=red"}), 1, "invalid filter 'colour'");
  ExpectError(Berth({"ps", "--filter", "status=up"}), 1, "invalid filter 'status=up'");
  ExpectError(Berth({"ps", "--format", "{{.Nope}}"}), 1, "map has no entry for key \"Nope\"");
}

TEST_F(CliTest, StopRestartKillAndWait) {
  const std::string id = RunDetached("life", {"busybox", "sleep", "1000"});
  // sleep, as pid 1, has no handler for SIGTERM: stop falls back to SIGKILL after -t.
  CommandResult r = Berth({"stop", "-t", "1", id.substr(0, 10)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, id.substr(0, 10) + "\n");  // printed as given
  EXPECT_TRUE(Eventually([&] { return absl::StartsWith(Status("life"), "Exited (137)"); }))
      << Status("life");
  r = Berth({"wait", "life"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "137\n");

  r = Berth({"restart", "-t", "1", "life"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "life\n");
  EXPECT_TRUE(Eventually([&] { return State("life") == "running"; }));
  // A running one is stopped first, then started again.
  r = Berth({"restart", "--time", "0", "life"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Eventually([&] { return State("life") == "running"; }));

  r = Berth({"kill", "-s", "TERM", "life"});  // ignored by sleep as pid 1
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(State("life"), "running");
  r = Berth({"kill", "life"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Berth({"wait", "life"});
  EXPECT_EQ(Trim(r.out), "137") << r.err;
  ExpectError(Berth({"kill", "life"}), 1, "is not running");
  ExpectError(Berth({"kill", "-s", "NOPE", "life"}), 1, "Invalid signal: NOPE");

  // kill marks the container stopped by hand: its restart policy leaves it down.
  RunDetached("always", {"--restart", "always", "busybox", "sleep", "1000"});
  ASSERT_EQ(Berth({"kill", "always"}).exit_code, 0);
  r = Berth({"wait", "always"});
  EXPECT_EQ(Trim(r.out), "137") << r.err;
  EXPECT_EQ(Trim(Berth({"inspect", "-f", "{{.State.Status}}", "always"}).out), "exited");
  absl::SleepFor(absl::Seconds(1));  // the daemon's first restart would come after 100 ms
  EXPECT_EQ(State("always"), "exited");
  // start brings it back under its policy.
  ASSERT_EQ(Berth({"start", "always"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return State("always") == "running"; }));

  // wait on a container that never ran answers at once.
  made_.push_back("never");
  ASSERT_EQ(Berth({"create", "--name", "never", "busybox", "true"}).exit_code, 0);
  EXPECT_EQ(Berth({"wait", "never"}).out, "0\n");

  // Several at once: the missing one is reported, the others still go, exit 1.
  r = Berth({"stop", "-t", "0", "nope", "always"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "always\n");
  EXPECT_EQ(Trim(r.err), "berth: No such container: nope");
}

TEST_F(CliTest, PauseAndUnpause) {
  RunDetached("frozen", {"busybox", "sleep", "1000"});
  CommandResult r = Berth({"pause", "frozen"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "frozen\n");
  EXPECT_TRUE(absl::EndsWith(Status("frozen"), "(Paused)")) << Status("frozen");
  EXPECT_EQ(Trim(Berth({"inspect", "-f", "{{.State.Paused}} {{.State.Running}}", "frozen"}).out),
            "true true");
  ExpectError(Berth({"pause", "frozen"}), 1, "is already paused");
  r = Berth({"unpause", "frozen"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(State("frozen"), "running");
  ExpectError(Berth({"unpause", "frozen"}), 1, "is not paused");
  // A paused container can still be stopped.
  ASSERT_EQ(Berth({"pause", "frozen"}).exit_code, 0);
  EXPECT_EQ(Berth({"stop", "-t", "1", "frozen"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return State("frozen") == "exited"; }));
  ExpectError(Berth({"pause", "frozen"}), 1, "is not running");
}

TEST_F(CliTest, RmAndContainerPrune) {
  RunDetached("busy", {"busybox", "sleep", "1000"});
  ExpectError(Berth({"rm", "busy"}), 1, "You cannot remove a running container");
  CommandResult r = Berth({"rm", "-f", "-v", "busy"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "busy\n");
  EXPECT_EQ(Status("busy"), "");
  ExpectError(Berth({"rm", "busy"}), 1, "No such container: busy");
  // -v: the anonymous volume made for the container goes with it; without it, it stays.
  const auto volumes = [&] { return Lines(Berth({"volume", "ls", "-q"}).out); };
  const std::vector<std::string> before = volumes();
  RunDetached("withvol", {"-v", "/data", "busybox", "sleep", "1000"});
  RunDetached("keepvol", {"-v", "/data", "busybox", "sleep", "1000"});
  ASSERT_EQ(volumes().size(), before.size() + 2);
  ASSERT_EQ(Berth({"rm", "-f", "-v", "withvol"}).exit_code, 0);
  EXPECT_EQ(volumes().size(), before.size() + 1);
  ASSERT_EQ(Berth({"rm", "-f", "keepvol"}).exit_code, 0);
  const std::vector<std::string> left = volumes();
  EXPECT_EQ(left.size(), before.size() + 1);
  for (const std::string& v : left) {
    if (std::find(before.begin(), before.end(), v) == before.end()) Berth({"volume", "rm", v});
  }

  for (const char* name : {"stopped1", "stopped2"}) {
    made_.push_back(name);
    ASSERT_EQ(Berth({"run", "--name", name, "busybox", "true"}).exit_code, 0);
  }
  RunDetached("keeps", {"busybox", "sleep", "1000"});
  // Without -f it asks; anything but y keeps them.
  const std::string prune = absl::StrJoin(daemon_->BerthArgv({"container", "prune"}), " ");
  r = RunCommand({"/bin/sh", "-c", "echo n | " + prune});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out,
                               "WARNING! This will remove all stopped containers.\n"
                               "Are you sure you want to continue? [y/N] "))
      << r.out;
  EXPECT_TRUE(absl::EndsWith(r.out, "Total reclaimed space: 0B\n")) << r.out;
  EXPECT_NE(Status("stopped1"), "");
  const std::string id1 = Trim(Berth({"inspect", "-f", "{{.Id}}", "stopped1"}).out);
  r = RunCommand({"/bin/sh", "-c", "echo y | " + prune});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "Deleted Containers:\n")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, id1 + "\n")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\n\nTotal reclaimed space: ")) << r.out;
  EXPECT_EQ(Status("stopped1"), "");
  EXPECT_EQ(Status("stopped2"), "");
  EXPECT_TRUE(absl::StartsWith(Status("keeps"), "Up")) << Status("keeps");
  r = Berth({"container", "prune", "-f"});
  EXPECT_EQ(r.out, "Total reclaimed space: 0B\n");
}

TEST_F(CliTest, Logs) {
  made_.push_back("talker");
  CommandResult r =
      Berth({"run", "--name", "talker", "busybox", "sh", "-c", "echo one; echo two; echo three"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Berth({"logs", "talker"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "one\ntwo\nthree\n");
  EXPECT_EQ(r.err, "");
  // Each stream to its own: the container's stderr is ours.
  made_.push_back("grumbler");
  ASSERT_EQ(Berth({"run", "--name", "grumbler", "busybox", "sh", "-c", "echo oops >&2"}).exit_code,
            0);
  r = Berth({"logs", "grumbler"});
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "oops\n");

  EXPECT_EQ(Berth({"logs", "--tail", "1", "talker"}).out, "three\n");
  EXPECT_EQ(Berth({"logs", "-n", "0", "talker"}).out, "");
  r = Berth({"logs", "-t", "--tail", "1", "talker"});
  ASSERT_EQ(Lines(r.out).size(), 1u) << r.out;
  // 2026-11-28T10:00:00.123456789Z three
  EXPECT_EQ(r.out.size(), std::string("2026-11-28T10:00:00.123456789Z three\n").size()) << r.out;
  EXPECT_EQ(r.out.substr(29, 2), "Z ") << r.out;
  EXPECT_EQ(Berth({"logs", "--since", "10m", "talker"}).out, "one\ntwo\nthree\n");
  const std::string later =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now() + absl::Hours(1), absl::UTCTimeZone());
  EXPECT_EQ(Berth({"logs", "--since", later, "talker"}).out, "");
  EXPECT_EQ(Berth({"logs", "--until", "10m", "talker"}).out, "");
  ExpectError(Berth({"logs", "--since", "yesterday", "talker"}), 1, "invalid value for \"since\"");
  ExpectError(Berth({"logs", "--tail", "some", "talker"}), 1, "invalid value for \"tail\"");
  ExpectError(Berth({"logs", "nope"}), 1, "No such container: nope");

  // -f goes on until the container exits.
  RunDetached("slow", {"busybox", "sh", "-c", "echo a; sleep 1; echo b"});
  r = Berth({"logs", "-f", "slow"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "a\nb\n");

  // A container that never ran has no logs yet: nothing, as Docker.
  made_.push_back("mute");
  ASSERT_EQ(Berth({"create", "--name", "mute", "busybox", "true"}).exit_code, 0);
  r = Berth({"logs", "mute"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out + r.err, "");
}

TEST_F(CliTest, InspectContainersAndImages) {
  const std::string id =
      RunDetached("insp", {"--restart", "on-failure:2", "-e", "A=b", "-w", "/tmp", "-l", "k=v",
                           "-v", "/data", "busybox", "sleep", "1000"});
  CommandResult r = Berth({"inspect", "insp"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 1) << r.out;
  const json& c = j[0];
  EXPECT_EQ(c["Id"], id);
  EXPECT_EQ(c["Name"], "/insp");
  EXPECT_EQ(c["Path"], "sleep");
  EXPECT_EQ(c["Args"], json({"1000"}));
  EXPECT_EQ(c["State"]["Status"], "running");
  EXPECT_EQ(c["State"]["Running"], true);
  EXPECT_GT(c["State"]["Pid"].get<int>(), 0);
  EXPECT_NE(c["State"]["StartedAt"], "0001-01-01T00:00:00Z");
  EXPECT_TRUE(absl::StartsWith(c["Image"].get<std::string>(), "sha256:")) << c["Image"];
  EXPECT_EQ(c["Config"]["Image"], "busybox");
  EXPECT_EQ(c["Config"]["WorkingDir"], "/tmp");
  EXPECT_EQ(c["Config"]["Labels"], json({{"k", "v"}}));
  EXPECT_TRUE(absl::StrContains(c["Config"]["Env"].dump(), "\"A=b\"")) << c["Config"]["Env"];
  EXPECT_EQ(c["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
  EXPECT_EQ(c["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 2);
  ASSERT_EQ(c["Mounts"].size(), 1u) << c["Mounts"];
  EXPECT_EQ(c["Mounts"][0]["Type"], "volume");
  EXPECT_EQ(c["Mounts"][0]["Destination"], "/data");
  EXPECT_EQ(c["Mounts"][0]["RW"], true);
  // Docker's key order.
  EXPECT_TRUE(absl::StartsWith(r.out, "[\n    {\n        \"Id\": ")) << r.out.substr(0, 40);

  r = Berth(
      {"inspect", "--format", "{{.Name}} {{.State.Status}} {{json .Config.Cmd}}", id.substr(0, 7)});
  EXPECT_EQ(r.out, "/insp running [\"sleep\",\"1000\"]\n");
  r = Berth({"container", "inspect", "-s", "-f", "{{.SizeRootFs}}", "insp"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(std::stoll(Trim(r.out)), 0);

  r = Berth({"inspect", "busybox"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 1) << r.out;
  EXPECT_EQ(j[0]["RepoTags"], json({"busybox:latest"}));

  // Both found and missing: the array of those found, one line per missing one, exit 1.
  r = Berth({"inspect", "insp", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(json::parse(r.out, nullptr, false).size(), 1u) << r.out;
  EXPECT_EQ(Trim(r.err), "berth: No such object: nope");
  ExpectError(Berth({"container", "inspect", "busybox"}), 1, "No such container: busybox");
  ExpectError(Berth({"inspect", "--type", "image", "insp"}), 1, "No such image: insp");
  ExpectError(Berth({"inspect", "--type", "volume", "insp"}), 1, "--type");
  ExpectError(Berth({"inspect", "-f", "{{.Nope}}", "insp"}), 1, "map has no entry");
}

TEST_F(CliTest, TopAndStats) {
  RunDetached("watched", {"busybox", "sleep", "1000"});
  CommandResult r = Berth({"top", "watched"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  std::vector<std::string> titles = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  EXPECT_EQ(titles,
            (std::vector<std::string>{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}));
  EXPECT_TRUE(absl::StartsWith(lines[1], "root ")) << lines[1];
  EXPECT_TRUE(absl::EndsWith(lines[1], " sleep 1000")) << lines[1];
  const std::string pid = Trim(Berth({"inspect", "-f", "{{.State.Pid}}", "watched"}).out);
  EXPECT_TRUE(absl::StrContains(lines[1], " " + pid + " ")) << lines[1] << " pid " << pid;
  r = Berth({"top", "watched", "-o", "pid,comm"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_TRUE(absl::StartsWith(lines[0], "PID ")) << lines[0];
  EXPECT_TRUE(absl::EndsWith(lines[1], "sleep")) << lines[1];

  r = Berth({"stats", "--no-stream"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  for (const char* column : {"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                             "NET I/O", "BLOCK I/O", "PIDS"}) {
    EXPECT_TRUE(absl::StrContains(lines[0], column)) << lines[0];
  }
  EXPECT_TRUE(absl::StrContains(lines[1], " watched ")) << lines[1];
  EXPECT_TRUE(absl::StrContains(lines[1], "%")) << lines[1];
  r = Berth({"stats", "--no-stream", "--format", "{{.Name}}:{{.NetIO}}", "watched"});
  EXPECT_EQ(r.out, "watched:--\n");

  made_.push_back("idle");
  ASSERT_EQ(Berth({"create", "--name", "idle", "busybox", "true"}).exit_code, 0);
  ExpectError(Berth({"top", "idle"}), 1, "is not running");
  EXPECT_EQ(Berth({"stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}}", "idle"}).out,
            "idle 0.00%\n");
  ExpectError(Berth({"stats", "--no-stream", "nope"}), 1, "No such container: nope");
}

TEST_F(CliTest, Rename) {
  made_.push_back("first");
  made_.push_back("second");
  made_.push_back("renamed");
  ASSERT_EQ(Berth({"create", "--name", "first", "busybox", "true"}).exit_code, 0);
  ASSERT_EQ(Berth({"create", "--name", "second", "busybox", "true"}).exit_code, 0);
  CommandResult r = Berth({"rename", "first", "renamed"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Status("first"), "");
  EXPECT_EQ(Status("renamed"), "Created");
  ExpectError(Berth({"rename", "renamed", "second"}), 1,
              "Conflict. The container name \"/second\" is already in use by container");
  ExpectError(Berth({"rename", "renamed", "renamed"}), 1, "same name as its current name");
  ExpectError(Berth({"rename", "renamed", "no good"}), 1, "Invalid container name");
  ExpectError(Berth({"rename", "nope", "other"}), 1, "No such container: nope");
}

TEST_F(CliTest, Events) {
  // A subscriber from before the events; ready once it has seen a probe of ours.
  const std::string out = daemon_->dir() + "/events.txt";
  const std::string base = absl::StrJoin(daemon_->BerthArgv({"events"}), " ");
  Child all({"/bin/sh", "-c", "exec " + base + " > " + out});
  Child some({"/bin/sh", "-c",
              "exec " + base +
                  " --filter event=create --filter event=destroy --format "
                  "'{{.Actor.Attributes.name}} {{.Action}}' > " +
                  out + ".some"});
  const auto read = [](const std::string& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  int probe = 0;
  ASSERT_TRUE(Eventually([&] {
    const std::string name = absl::StrCat("probe", ++probe);
    made_.push_back(name);
    Berth({"create", "--name", name, "busybox", "true"});
    return absl::StrContains(read(out), "name=" + name + ")") &&
           absl::StrContains(read(out + ".some"), name + " create");
  })) << read(out);

  made_.push_back("evt");
  ASSERT_EQ(Berth({"run", "--rm", "--name", "evt", "-l", "team=a", "busybox", "sh", "-c", "exit 2"})
                .exit_code,
            2);
  ASSERT_TRUE(Eventually([&] {
    return absl::StrContains(read(out), "container destroy") &&
           absl::StrContains(read(out + ".some"), "evt destroy");
  })) << read(out);
  all.Stop(SIGTERM);
  some.Stop(SIGTERM);

  std::vector<std::string> evt;
  for (const std::string& line : Lines(read(out))) {
    if (absl::StrContains(line, "name=evt")) evt.push_back(line);
  }
  ASSERT_EQ(evt.size(), 4u) << read(out);
  const char* actions[] = {"create", "start", "die", "destroy"};
  for (size_t i = 0; i < 4; ++i) {
    // 2026-11-28T10:00:00.123456789Z container start <id> (image=busybox, name=evt, team=a)
    std::vector<std::string> words = absl::StrSplit(evt[i], ' ');
    ASSERT_GE(words.size(), 5u) << evt[i];
    EXPECT_EQ(words[0].size(), std::string("2026-11-28T10:00:00.123456789").size() + 1 +
                                   (absl::EndsWith(words[0], "Z") ? 0 : 5))
        << evt[i];
    EXPECT_EQ(words[1], "container");
    EXPECT_EQ(words[2], actions[i]);
    EXPECT_EQ(words[3].size(), 64u);
  }
  EXPECT_TRUE(absl::EndsWith(evt[2], "(exitCode=2, image=busybox, name=evt, team=a)")) << evt[2];
  std::vector<std::string> some_lines;
  for (const std::string& line : Lines(read(out + ".some"))) {
    if (absl::StartsWith(line, "evt ")) some_lines.push_back(line);
  }
  EXPECT_EQ(some_lines, (std::vector<std::string>{"evt create", "evt destroy"}));

  // --until in the past: nothing to wait for.
  CommandResult r = Berth({"events", "--until", "1s"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  ExpectError(Berth({"events", "--filter", "colour=red"}), 1, "invalid filter 'colour'");
}

TEST_F(CliTest, ImagePruneSystemDfAndSystemPrune) {
  RunDetached("user", {"busybox", "sleep", "1000"});
  made_.push_back("gone");
  ASSERT_EQ(Berth({"run", "--name", "gone", "busybox", "true"}).exit_code, 0);
  ASSERT_EQ(Berth({"tag", "busybox", "alias:1"}).exit_code, 0);

  CommandResult r = Berth({"system", "df"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_TRUE(absl::StartsWith(lines[0], "TYPE ")) << lines[0];
  for (const char* column : {"TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"}) {
    EXPECT_TRUE(absl::StrContains(lines[0], column)) << lines[0];
  }
  EXPECT_TRUE(absl::StartsWith(lines[1], "Images ")) << lines[1];
  EXPECT_TRUE(absl::StartsWith(lines[2], "Containers ")) << lines[2];
  EXPECT_TRUE(absl::StartsWith(lines[3], "Local Volumes ")) << lines[3];
  EXPECT_TRUE(absl::StartsWith(lines[4], "Build Cache ")) << lines[4];
  EXPECT_EQ(Berth({"system", "df", "--format", "{{.Type}}={{.TotalCount}}/{{.Active}}"}).out,
            "Images=2/1\nContainers=2/1\nLocal Volumes=0/0\nBuild Cache=0/0\n");

  // Nothing dangling: a plain prune removes nothing.
  r = Berth({"image", "prune", "-f"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Total reclaimed space: 0B\n");
  // -a: every image no container uses; alias:1 is busybox's config, which "user" uses.
  r = Berth({"image", "prune", "-a", "-f"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "Deleted Images:\nuntagged: other:latest\ndeleted: sha256:"))
      << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "busybox")) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "alias")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\n\nTotal reclaimed space: ")) << r.out;
  EXPECT_FALSE(absl::EndsWith(r.out, "Total reclaimed space: 0B\n")) << r.out;
  EXPECT_NE(Berth({"image", "inspect", "other"}).exit_code, 0);
  EXPECT_EQ(Berth({"image", "inspect", "alias:1"}).exit_code, 0);

  r = Berth({"system", "prune", "-f"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "Deleted Containers:\n")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "Total reclaimed space: ")) << r.out;
  EXPECT_EQ(Status("gone"), "");
  EXPECT_TRUE(absl::StartsWith(Status("user"), "Up")) << Status("user");
  ASSERT_EQ(Berth({"rmi", "alias:1"}).exit_code, 0);
}

TEST_F(CliTest, GroupsAliasesAndHelp) {
  RunDetached("grouped", {"busybox", "sleep", "1000"});
  EXPECT_EQ(Trim(Berth({"container", "ls", "--format", "{{.Names}}"}).out), "grouped");
  EXPECT_EQ(Trim(Berth({"container", "list", "-q"}).out), Trim(Berth({"ps", "-q"}).out));
  EXPECT_TRUE(absl::StrContains(Berth({"image", "ls"}).out, "busybox"));
  EXPECT_EQ(Berth({"system", "info"}).exit_code, 0);
  CommandResult r = Berth({"container", "stop", "-t", "0", "grouped"});
  EXPECT_EQ(r.out, "grouped\n");
  r = Berth({"container", "rm", "grouped"});
  EXPECT_EQ(r.out, "grouped\n");

  for (const char* verb : {"ps", "stop", "restart", "kill", "rm", "pause", "unpause", "wait",
                           "logs", "inspect", "top", "stats", "rename", "events", "completion"}) {
    r = Berth({verb, "--help"});
    EXPECT_EQ(r.exit_code, 0) << verb << r.err;
    EXPECT_TRUE(absl::StrContains(r.out, "Usage: berth " + std::string(verb))) << r.out;
  }
  for (const std::vector<std::string>& sub : std::vector<std::vector<std::string>>{
           {"container", "prune"}, {"image", "prune"}, {"system", "df"}, {"system", "prune"}}) {
    std::vector<std::string> args = sub;
    args.push_back("--help");
    EXPECT_EQ(Berth(args).exit_code, 0) << absl::StrJoin(sub, " ");
  }
}

TEST_F(CliTest, NewUsersErrorsAreOneLineWithDockersExitCodes) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"stop", "ghost"},
                                             {"restart", "ghost"},
                                             {"kill", "ghost"},
                                             {"pause", "ghost"},
                                             {"unpause", "ghost"},
                                             {"wait", "ghost"},
                                             {"rm", "ghost"},
                                             {"logs", "ghost"},
                                             {"top", "ghost"},
                                             {"rename", "ghost", "spirit"}}) {
    ExpectError(Berth(args), 1, "No such container: ghost");
  }
  ExpectError(Berth({"inspect", "ghost"}), 1, "No such object: ghost");
  // Name in use.
  RunDetached("taken", {"busybox", "sleep", "1000"});
  ExpectError(Berth({"create", "--name", "taken", "busybox", "true"}), 125,
              "The container name \"/taken\" is already in use");
  // Flag values that do not parse: 125, as Docker's flag errors.
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"ps", "-n", "many"}, {"stop", "-t", "soon", "taken"}, {"ps", "--bogus"}}) {
    CommandResult r = Berth(args);
    EXPECT_EQ(r.exit_code, 125) << absl::StrJoin(args, " ") << ": " << r.err;
    EXPECT_TRUE(absl::StartsWith(r.err, "berth: ")) << r.err;
  }
  ExpectError(Berth({"completion", "fish"}), 1, "unsupported shell");
  // The daemon is not there: 1, as `docker ps` (run and create say 125).
  CommandResult r = RunCommand({kBerth, "-H", "unix:///nonexistent/berthd.sock", "ps"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Trim(r.err),
            "berth: cannot connect to berthd at unix:///nonexistent/berthd.sock: is it running?");
}

// rmi keeps an image a container uses, by Docker's rules: its last name or its ID needs -f
// while the container is stopped, and a running container's image cannot be forced out.
TEST_F(CliTest, RmiRefusesAnImageAContainerUses) {
  const std::string id = Trim(Berth({"images", "-q", "--no-trunc", "busybox"}).out);
  ASSERT_EQ(id.size(), 71u) << id;
  const std::string short_id = id.substr(7, 12);
  const std::string name = "localhost/rmi-used:1";
  ASSERT_EQ(Berth({"tag", "busybox", name}).exit_code, 0);
  made_.push_back("rmi-stopped");
  CommandResult created = Berth({"create", "--name", "rmi-stopped", name, "true"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string stopped = Trim(created.out).substr(0, 12);

  // The image keeps another name: untagging one is no conflict.
  CommandResult rmi = Berth({"rmi", "busybox"});
  EXPECT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(rmi.out, "Untagged: busybox:latest\n");
  // Its last name, and its ID, need -f.
  rmi = Berth({"rmi", name});
  ExpectError(rmi, 1,
              "Error response from daemon: conflict: unable to remove repository reference \"" +
                  name + "\" (must force) - container " + stopped +
                  " is using its referenced image " + short_id);
  EXPECT_EQ(rmi.out, "");
  rmi = Berth({"rmi", short_id});
  ExpectError(rmi, 1,
              "Error response from daemon: conflict: unable to delete " + short_id +
                  " (must be forced) - image is being used by stopped container " + stopped);
  EXPECT_EQ(Trim(Berth({"images", "-q", "--no-trunc", "localhost/rmi-used"}).out), id);

  // A running container's image: not even -f.
  const std::string running = RunDetached("rmi-running", {name, "sleep", "1000"}).substr(0, 12);
  rmi = Berth({"rmi", "-f", short_id});
  ExpectError(rmi, 1,
              "Error response from daemon: conflict: unable to delete " + short_id +
                  " (cannot be forced) - image is being used by running container " + running);
  EXPECT_EQ(Trim(Berth({"images", "-q", "--no-trunc", "localhost/rmi-used"}).out), id);
  ASSERT_EQ(Berth({"rm", "-f", "rmi-running"}).exit_code, 0);

  // -f removes the last name; the stopped container still runs from its snapshot.
  rmi = Berth({"rmi", "-f", name});
  EXPECT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(rmi.out, "Untagged: " + name + "\n");
  EXPECT_EQ(Trim(Berth({"images", "-q", "localhost/rmi-used"}).out), "");
  CommandResult start = Berth({"start", "-a", "rmi-stopped"});
  EXPECT_EQ(start.exit_code, 0) << start.err;

  // Once no container uses it, the last name goes without -f.
  ASSERT_EQ(Berth({"rm", "rmi-stopped"}).exit_code, 0);
  ASSERT_EQ(daemon_->Load(daemon_->Archive("busybox")).exit_code, 0);
  made_.push_back("rmi-gone");
  ASSERT_EQ(Berth({"create", "--name", "rmi-gone", "busybox", "true"}).exit_code, 0);
  rmi = Berth({"rmi", "busybox"});
  EXPECT_EQ(rmi.exit_code, 1) << rmi.err;
  ASSERT_EQ(Berth({"rm", "rmi-gone"}).exit_code, 0);
  rmi = Berth({"rmi", "busybox"});
  EXPECT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(rmi.out, "Untagged: busybox:latest\n");
}

}  // namespace
}  // namespace berth::e2e
