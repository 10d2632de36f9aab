// Container lifecycle through the real CLI: stop, restart, kill, wait, pause, rm, prune, rename.
#include <algorithm>

#include "absl/strings/str_join.h"
#include "e2e/cli_fixture.h"

namespace berth::e2e {
namespace {

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

}  // namespace
}  // namespace berth::e2e
