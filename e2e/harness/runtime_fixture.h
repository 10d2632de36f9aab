// A gtest fixture for tests that drive the real berth-runtime binary on busybox bundles.
#ifndef BERTH_E2E_HARNESS_RUNTIME_FIXTURE_H_
#define BERTH_E2E_HARNESS_RUNTIME_FIXTURE_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "e2e/harness/bundle.h"
#include "e2e/harness/process.h"
#include "runtime/cgroup.h"

namespace berth::e2e {

inline const std::string kRuntime = Runfile("runtime/berth-runtime");

// Runs berth-runtime with its own state root and a per-test container id and cgroup parent,
// and deletes what a test left behind.
class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    id_ = "rt-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  void TearDown() override {
    if (geteuid() != 0) return;
    Rt({"delete", "--force", id_});
    // The parent cgroup is this test's own; the container's was removed by delete.
    if (absl::StatusOr<std::string> mount = runtime::FindCgroup2Mount(); mount.ok()) {
      rmdir((*mount + CgroupParent()).c_str());
    }
  }
  std::string CgroupParent() const { return "/berth-test-" + std::to_string(getpid()); }
  CommandResult Rt(std::vector<std::string> args) {
    args.insert(args.begin(), {kRuntime, "--root", tmp_.path() + "/state"});
    return RunCommand(args);
  }
  std::string State() {
    CommandResult r = Rt({"state", id_});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_discarded() ? "gone" : j["status"].get<std::string>();
  }
  BusyboxBundle Bundle(const std::vector<std::string>& args) {
    BusyboxBundle b(tmp_.path() + "/bundle", args);
    b.spec()["linux"]["cgroupsPath"] = CgroupParent() + "/" + id_;
    b.Write();
    return b;
  }

  ShortTempDir tmp_{"berth-rt"};
  std::string id_;
};

}  // namespace berth::e2e

#endif  // BERTH_E2E_HARNESS_RUNTIME_FIXTURE_H_
