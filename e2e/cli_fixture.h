// The CliTest fixture shared by the cli_*_test.cc files: one berthd per test binary, driven
// through the real CLI in a namespace of its own (so its cgroups, /berth/<namespace>, are the
// binary's alone); every test removes what it made, and the images others rely on stay.
// Needs root; nothing asserts on timing: state changes are polled for.
#ifndef BERTH_E2E_CLI_FIXTURE_H_
#define BERTH_E2E_CLI_FIXTURE_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "e2e/harness/engine.h"
#include "e2e/harness/process.h"

namespace berth::e2e {

inline const std::string kBerth = Runfile("ctl/berth");
// Containers' cgroups go under /berth/<namespace>/: one of the binary's own, removed at the end.
inline const std::string kNs = absl::StrCat("e2e-cli-", getpid());

inline std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

inline std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

// Polls `done` until it holds or 20 s pass.
inline bool Eventually(const std::function<bool()>& done) {
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

  inline static Engine* daemon_ = nullptr;
  inline static std::string setup_error_;
  std::vector<std::string> made_;
};

}  // namespace berth::e2e

#endif  // BERTH_E2E_CLI_FIXTURE_H_
