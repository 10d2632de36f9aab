// Looking at containers through the real CLI: ps, logs, inspect, top, stats and events.
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_join.h"
#include "e2e/cli_fixture.h"

namespace berth::e2e {
namespace {

using nlohmann::json;

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

}  // namespace
}  // namespace berth::e2e
