#include "ctl/container/inspect.h"

#include <gtest/gtest.h>

#include "ctl/container/labels.h"

namespace berth::ctl {
namespace {

using json = nlohmann::json;

InspectInput Example() {
  InspectInput in;
  auto& c = in.record;
  c.set_id("4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0");
  c.set_name("web");
  c.set_image("docker.io/library/busybox:latest");
  c.set_snapshotter("overlayfs");
  c.set_snapshot_key(c.id());
  c.mutable_runtime()->set_name("berth-runtime");
  c.mutable_created_at()->set_seconds(1764324000);
  (*c.mutable_labels())["app"] = "shop";
  (*c.mutable_labels())[kLabelRestartPolicy] = "on-failure:3";
  (*c.mutable_labels())[kLabelRestartCount] = "2";
  (*c.mutable_labels())[kLabelStopSignal] = "SIGINT";
  (*c.mutable_labels())["berth.io/volumes"] = "vol1";
  (*c.mutable_labels())[kLabelPublishedPorts] = "127.0.0.1:8080->80/tcp, [::1]:8081->80/tcp";
  (*c.mutable_labels())[kLabelNetwork] = "none";
  const json spec = {
      {"hostname", "4f1e2d3c4b5a"},
      {"root", {{"readonly", true}}},
      {"process",
       {{"args", {"/entry.sh", "sh", "-c", "echo hi"}},
        {"env", {"PATH=/bin"}},
        {"cwd", "/srv"},
        {"terminal", true},
        {"user", {{"uid", 1000}, {"gid", 1000}}}}},
      {"mounts",
       {{{"destination", "/dev"}, {"type", "tmpfs"}},
        {{"destination", "/run"}, {"type", "tmpfs"}, {"options", {"rw", "size=64m"}}},
        {{"destination", "/data"},
         {"type", "bind"},
         {"source", "/var/lib/berth/volumes/default/vol1/_data"},
         {"options", {"rbind", "rprivate"}}},
        {{"destination", "/etc/conf"},
         {"type", "bind"},
         {"source", "/srv/conf"},
         {"options", {"rbind", "rprivate", "ro"}}}}},
      {"linux",
       {{"resources",
         {{"memory", {{"limit", 67108864}}},
          {"cpu", {{"quota", 150000}, {"period", 100000}}},
          {"pids", {{"limit", 50}}},
          {"devices", {{{"allow", false}}}}}}}},
  };
  c.set_spec(spec.dump());
  in.image_id = "sha256:abc";
  in.image_config = {{"config", {{"Entrypoint", {"/entry.sh"}}}}};
  return in;
}

TEST(ContainerInspect, RunningContainer) {
  InspectInput in = Example();
  in.state.status = ContainerStatus::kRunning;
  in.state.started_at = absl::FromUnixSeconds(1764324060);
  in.pid = 4242;
  const json j = json::parse(ContainerInspect(in).dump());
  EXPECT_EQ(j["Id"], in.record.id());
  EXPECT_EQ(j["Name"], "/web");
  EXPECT_EQ(j["Created"], "2025-11-28T10:00:00Z");
  EXPECT_EQ(j["Path"], "/entry.sh");
  EXPECT_EQ(j["Args"], json({"sh", "-c", "echo hi"}));
  EXPECT_EQ(j["State"]["Status"], "running");
  EXPECT_EQ(j["State"]["Running"], true);
  EXPECT_EQ(j["State"]["Pid"], 4242);
  EXPECT_EQ(j["State"]["StartedAt"], "2025-11-28T10:01:00Z");
  EXPECT_EQ(j["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(j["Image"], "sha256:abc");
  EXPECT_EQ(j["RestartCount"], 2);
  EXPECT_EQ(j["Config"]["Image"], "busybox");
  EXPECT_EQ(j["Config"]["Entrypoint"], json({"/entry.sh"}));
  EXPECT_EQ(j["Config"]["Cmd"], json({"sh", "-c", "echo hi"}));
  EXPECT_EQ(j["Config"]["User"], "1000:1000");
  EXPECT_EQ(j["Config"]["WorkingDir"], "/srv");
  EXPECT_EQ(j["Config"]["Tty"], true);
  EXPECT_EQ(j["Config"]["Labels"], json({{"app", "shop"}}));
  EXPECT_EQ(j["Config"]["StopSignal"], "SIGINT");
  EXPECT_EQ(j["HostConfig"]["RestartPolicy"],
            json({{"Name", "on-failure"}, {"MaximumRetryCount", 3}}));
  EXPECT_EQ(j["HostConfig"]["Memory"], 67108864);
  EXPECT_EQ(j["HostConfig"]["NanoCpus"], 1500000000);
  EXPECT_EQ(j["HostConfig"]["PidsLimit"], 50);
  EXPECT_EQ(j["HostConfig"]["ReadonlyRootfs"], true);
  EXPECT_EQ(j["HostConfig"]["Tmpfs"], json({{"/run", "rw,size=64m"}}));
  EXPECT_EQ(j["HostConfig"]["Runtime"], "berth-runtime");
  EXPECT_EQ(j["GraphDriver"]["Name"], "overlayfs");
  EXPECT_EQ(j["HostConfig"]["NetworkMode"], "none");
  EXPECT_EQ(j["NetworkSettings"]["Ports"], json::parse(R"({"80/tcp": [
      {"HostIp": "127.0.0.1", "HostPort": "8080"}, {"HostIp": "::1", "HostPort": "8081"}]})"));
  EXPECT_EQ(j["Mounts"], json::parse(R"([
      {"Type": "volume", "Name": "vol1", "Source": "/var/lib/berth/volumes/default/vol1/_data",
       "Destination": "/data", "Driver": "local", "Mode": "", "RW": true, "Propagation": ""},
      {"Type": "bind", "Source": "/srv/conf", "Destination": "/etc/conf", "Mode": "", "RW": false,
       "Propagation": "rprivate"}])"));
}

TEST(ContainerInspect, ExitedContainerAndDockerKeyOrder) {
  InspectInput in = Example();
  in.state.status = ContainerStatus::kExited;
  in.state.exit_code = 3;
  in.state.started_at = absl::FromUnixSeconds(1764324060);
  in.state.finished_at = absl::FromUnixSeconds(1764324120);
  in.image_config = nullptr;  // image gone: the whole command is Cmd
  const nlohmann::ordered_json o = ContainerInspect(in);
  std::vector<std::string> keys;
  for (auto it = o.begin(); it != o.end(); ++it) keys.push_back(it.key());
  ASSERT_GE(keys.size(), 5u);
  EXPECT_EQ(keys[0], "Id");
  EXPECT_EQ(keys[1], "Created");
  EXPECT_EQ(keys[2], "Path");
  const json j = json::parse(o.dump());
  EXPECT_EQ(j["State"]["Status"], "exited");
  EXPECT_EQ(j["State"]["Running"], false);
  EXPECT_EQ(j["State"]["Pid"], 0);
  EXPECT_EQ(j["State"]["ExitCode"], 3);
  EXPECT_EQ(j["State"]["FinishedAt"], "2025-11-28T10:02:00Z");
  EXPECT_TRUE(j["Config"]["Entrypoint"].is_null());
  EXPECT_EQ(j["Config"]["Cmd"], json({"/entry.sh", "sh", "-c", "echo hi"}));
}

}  // namespace
}  // namespace berth::ctl
