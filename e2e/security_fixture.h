// EngineTest, shared by the security_*_test.cc files: a berthd that runs containers, with busybox.
#ifndef BERTH_E2E_SECURITY_FIXTURE_H_
#define BERTH_E2E_SECURITY_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "e2e/harness/engine.h"
#include "e2e/harness/process.h"

namespace berth::e2e {

inline const std::string kProbe = Runfile("e2e/fixtures/seccomp_probe");

// A daemon that runs containers, with the busybox image (and the seccomp probe) loaded.
class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Engine>(EngineOptions{.prefix = "berth-sec"});
    ASSERT_TRUE(daemon_->started()) << daemon_->Stderr();
    CommandResult r = daemon_->MakeImage("busybox", {"--add", kProbe + ":/bin/seccomp-probe"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void TearDown() override {
    for (const auto& [ns, name] : started_) Berth({"-n", ns, "rm", "-f", name});
  }

  CommandResult Berth(std::vector<std::string> args) { return daemon_->Berth(std::move(args)); }

  void Load(const std::string& ns) {
    CommandResult r = Berth({"-n", ns, "load", "-q", "-i", daemon_->Archive("busybox")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // `berth run --rm [flags] busybox ARGS…`; stdout.
  std::string Run(std::vector<std::string> flags, std::vector<std::string> args) {
    std::vector<std::string> cmd = {"run", "--rm"};
    cmd.insert(cmd.end(), flags.begin(), flags.end());
    cmd.push_back("busybox");
    cmd.insert(cmd.end(), args.begin(), args.end());
    CommandResult r = Berth(cmd);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  std::unique_ptr<Engine> daemon_;
  std::vector<std::pair<std::string, std::string>> started_;  // (namespace, name) to remove
};

}  // namespace berth::e2e

#endif  // BERTH_E2E_SECURITY_FIXTURE_H_
