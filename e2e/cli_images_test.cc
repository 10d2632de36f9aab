// Images and housekeeping through the real CLI: prune, system df, rmi, groups and help.
#include "absl/strings/str_join.h"
#include "e2e/cli_fixture.h"

namespace berth::e2e {
namespace {

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
