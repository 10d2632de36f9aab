#include "runtime/spec.h"

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

constexpr char kFull[] = R"({
  "ociVersion": "1.0.2",
  "process": {
    "terminal": true, "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 6]},
    "args": ["sh", "-c", "true"], "env": ["PATH=/bin", "A=b"], "cwd": "/work",
    "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
    "noNewPrivileges": true, "oomScoreAdj": 100
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "h", "domainname": "d",
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid"]}],
  "annotations": {"k": "v"},
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": "user"},
                   {"type": "network", "path": "/var/run/netns/x"}, {"type": "mount"}],
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}],
    "cgroupsPath": "/berth/x",
    "resources": {
      "memory": {"limit": 1048576, "swap": 2097152},
      "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1"},
      "pids": {"limit": 64},
      "blockIO": {"weight": 500},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
      "unified": {"memory.high": "1000000"}
    },
    "rootfsPropagation": "rslave",
    "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
    "sysctl": {"net.ipv4.ip_forward": "1"},
    "timeOffsets": {"monotonic": {"secs": 10}}
  }
})";

TEST(Spec, ParsesEveryField) {
  absl::StatusOr<Spec> s = ParseSpec(kFull);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->oci_version, "1.0.2");
  ASSERT_TRUE(s->process.has_value());
  const Process& p = *s->process;
  EXPECT_TRUE(p.terminal);
  EXPECT_EQ(p.console_size->width, 80u);
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.gid, 1001u);
  EXPECT_EQ(*p.user.umask, 18u);
  EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(p.args.size(), 3u);
  EXPECT_EQ(p.cwd, "/work");
  EXPECT_EQ(p.capabilities->bounding, std::vector<std::string>{"CAP_KILL"});
  EXPECT_EQ(p.rlimits[0].soft, 512u);
  EXPECT_TRUE(p.no_new_privileges);
  EXPECT_EQ(*p.oom_score_adj, 100);
  EXPECT_EQ(s->root_path, "rootfs");
  EXPECT_TRUE(s->root_readonly);
  EXPECT_EQ(s->hostname, "h");
  EXPECT_EQ(s->mounts[0].options, std::vector<std::string>{"nosuid"});
  EXPECT_EQ(s->annotations.at("k"), "v");
  EXPECT_EQ(s->FindNamespace("network")->path, "/var/run/netns/x");
  EXPECT_FALSE(s->HasNamespace("ipc"));
  EXPECT_EQ(s->linux.uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(s->linux.devices[0].major, 10);
  EXPECT_EQ(*s->linux.devices[0].file_mode, 0666u);
  EXPECT_EQ(s->linux.cgroups_path, "/berth/x");
  const Resources& r = *s->linux.resources;
  EXPECT_EQ(*r.memory->limit, 1048576);
  EXPECT_EQ(*r.cpu->shares, 1024u);
  EXPECT_EQ(r.cpu->cpus, "0-1");
  EXPECT_EQ(*r.pids_limit, 64);
  EXPECT_EQ(*r.block_io->weight, 500);
  EXPECT_EQ(r.hugepage_limits[0].page_size, "2MB");
  EXPECT_EQ(r.unified.at("memory.high"), "1000000");
  EXPECT_EQ(s->linux.rootfs_propagation, "rslave");
  EXPECT_EQ(s->linux.masked_paths, std::vector<std::string>{"/proc/kcore"});
  EXPECT_EQ(s->linux.sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(s->linux.time_offsets_secs.at("monotonic"), 10);
}

void ExpectError(const std::string& json, const std::string& fragment) {
  absl::StatusOr<Spec> s = ParseSpec(json);
  ASSERT_FALSE(s.ok()) << json;
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find(fragment), std::string::npos) << s.status();
}

TEST(Spec, ClearErrors) {
  ExpectError("{not json", "config.json is not valid JSON");
  ExpectError("[]", "expected a JSON object");
  ExpectError(R"({"process": {"args": ["sh"]}})", "root: missing");
  ExpectError(R"({"root": {"path": "r"}, "linux": {"namespaces": [{"type": "pidd"}]}})",
              "linux.namespaces[0].type: unknown namespace type \"pidd\"");
  ExpectError(
      R"({"root": {"path": "r"}, "linux": {"namespaces": [{"type": "pid"}, {"type": "pid"}]}})",
      "listed twice");
  ExpectError(R"({"root": {"path": "r"}, "mounts": [{"destination": "proc", "type": "proc"}]})",
              "mounts[0].destination: must be an absolute path, got \"proc\"");
  ExpectError(R"({"root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "work"}})",
              "process.cwd: must be an absolute path");
  ExpectError(R"({"root": {"path": "r"}, "process": {"args": []}})", "process.args");
  ExpectError(R"({"root": {"path": "r"}, "process": {"args": ["sh"], "user": {"uid": -1}}})",
              "process.user.uid: out of range");
  ExpectError(R"({"root": {"path": "r"}, "process": {"args": "sh"}})",
              "process.args: expected an array, got string");
  ExpectError(R"({"root": {"path": "r"}, "hostname": "h"})", "needs a new uts namespace");
  ExpectError(R"({"root": {"path": "r"}, "linux": {"namespaces": [{"type": "net", "path": "x"}]}})",
              "unknown namespace type \"net\"");
  ExpectError(R"({"root": {"path": "r"}, "linux": {"devices": [{"path": "/dev/x", "type": "q"}]}})",
              "unknown device type");
  ExpectError(R"({"root": {"path": "r"}, "linux": {"rootfsPropagation": "sideways"}})",
              "unknown propagation");
}

TEST(Spec, DefaultSpecParses) {
  absl::StatusOr<Spec> s = ParseSpec(DefaultSpecJson());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->HasNamespace("mount"));
  EXPECT_EQ(s->process->args, std::vector<std::string>{"sh"});
}

TEST(Spec, ProcessAndResourcesAlone) {
  absl::StatusOr<Process> p = ParseProcess(R"({"args": ["ls"], "cwd": "/", "env": ["X=1"]})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->env, std::vector<std::string>{"X=1"});
  absl::StatusOr<Resources> r = ParseResources(R"({"pids": {"limit": 5}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r->pids_limit, 5);
  EXPECT_FALSE(ParseResources(R"({"pids": {"limit": "x"}})").ok());
}

}  // namespace
}  // namespace berth::runtime
