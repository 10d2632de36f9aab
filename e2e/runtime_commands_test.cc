// berth-runtime's operational commands on a live container: events --stats, update, features,
// ps. Needs root.
#include <gtest/gtest.h>

#include <fstream>

#include "e2e/harness/runtime_fixture.h"

namespace berth::e2e {
namespace {

using RuntimeCommands = RuntimeTest;

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

TEST_F(RuntimeCommands, EventsStatsReportWhatTheHierarchyHas) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  ASSERT_EQ(Rt({"run", "--detach", "--bundle", b.dir(), id_}).exit_code, 0);
  CommandResult r = Rt({"events", "--stats", id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json e = nlohmann::json::parse(r.out);
  EXPECT_EQ(e["type"], "stats");
  EXPECT_EQ(e["id"], id_);
  EXPECT_TRUE(e["data"]["cpu"]["usage"].contains("total")) << r.out;
  absl::StatusOr<std::string> mount = runtime::FindCgroup2Mount();
  ASSERT_TRUE(mount.ok());
  if (Slurp(*mount + "/cgroup.controllers").find("memory") == std::string::npos) {
    EXPECT_FALSE(e["data"].contains("memory")) << "absent, not zero: " << r.out;
  }
}

TEST_F(RuntimeCommands, UpdateChangesTheCgroupFiles) {
  absl::StatusOr<std::string> mount = runtime::FindCgroup2Mount();
  ASSERT_TRUE(mount.ok());
  const std::string controllers = Slurp(*mount + "/cgroup.controllers");
  BusyboxBundle b = Bundle({"sleep", "1000"});
  ASSERT_EQ(Rt({"run", "--detach", "--bundle", b.dir(), id_}).exit_code, 0);
  const std::string cg = *mount + CgroupParent() + "/" + id_;
  if (controllers.find("hugetlb") != std::string::npos) {
    const std::string file = tmp_.path() + "/resources.json";
    std::ofstream(file) << R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]})";
    CommandResult r = Rt({"update", "--resources", file, id_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Slurp(cg + "/hugetlb.2MB.max"), "4194304\n");
  }
  if (controllers.find("pids") != std::string::npos) {
    ASSERT_EQ(Rt({"update", "--pids-limit", "7", id_}).exit_code, 0);
    EXPECT_EQ(Slurp(cg + "/pids.max"), "7\n");
  } else {
    CommandResult r = Rt({"update", "--pids-limit", "7", id_});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("linux.resources.pids.limit: the pids controller is not available"),
              std::string::npos)
        << r.err;
  }
  CommandResult none = Rt({"update", id_});
  EXPECT_NE(none.err.find("update needs --resources or at least one limit flag"),
            std::string::npos);
}

TEST_F(RuntimeCommands, PsListsHostPids) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  const std::string pid_file = tmp_.path() + "/pid";
  ASSERT_EQ(Rt({"run", "--detach", "--bundle", b.dir(), "--pid-file", pid_file, id_}).exit_code, 0);
  int pid = 0;
  std::ifstream(pid_file) >> pid;
  CommandResult r = Rt({"ps", "--format", "json", id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json::array({pid}));
}

TEST_F(RuntimeCommands, FeaturesDescribeTheRuntime) {
  CommandResult r = Rt({"features"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json f = nlohmann::json::parse(r.out);
  EXPECT_EQ(f["ociVersionMax"], "1.0.2");
  EXPECT_EQ(f["linux"]["cgroup"]["v2"], true);
  EXPECT_EQ(f["linux"]["cgroup"]["v1"], false);
  EXPECT_EQ(f["linux"]["seccomp"]["enabled"], true);
  EXPECT_EQ(f["linux"]["capabilities"][0], "CAP_CHOWN");
}

TEST_F(RuntimeCommands, SchedulerAndIoPriorityApply) {
  BusyboxBundle b = Bundle({"sh", "-c", "cat /proc/self/stat | cut -d' ' -f19,41; ionice -p $$"});
  b.spec()["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 7}};
  b.spec()["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 0}};
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("7 3\n"), std::string::npos) << "nice 7, policy SCHED_BATCH: " << r.out;
  EXPECT_NE(r.out.find("idle"), std::string::npos) << r.out;

  b.spec()["process"]["scheduler"] = {{"policy", "SCHED_SOMETIMES"}};
  b.Write();
  CommandResult bad = Rt({"run", "--bundle", b.dir(), id_ + "-bad"});
  EXPECT_NE(bad.err.find("process.scheduler.policy: unknown policy"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace berth::e2e
