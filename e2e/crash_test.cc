// Crash consistency (docs/reliability.md): berthd is SIGKILLed at a random moment while the
// CLI loads, unpacks, creates, starts, execs into, stops, removes and prunes in the background;
// after every restart `berth system check` finds nothing dangling, the containers that were
// running run on with the same process, and nothing that had completed (an image loaded, a
// container created, started or removed) is undone.
//
// BERTH_CRASH_CYCLES (default 10) sets the number of kills; BERTH_CRASH_SEED replays a run.
// The full form is 100 cycles:
//   bazel test //e2e:crash_test --test_env=BERTH_CRASH_CYCLES=100 --test_timeout=3600
// Needs root.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "e2e/reliability.h"

namespace berth::e2e {
namespace {

// What the test knows for certain: the effects of commands that succeeded. A command that
// failed (most often because berthd died under it) leaves its object uncertain, and the model
// forgets it until the next look at the daemon.
struct Model {
  std::set<std::string> images;            // "name:tag"
  std::map<std::string, bool> containers;  // name → running
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    d_ = std::make_unique<CliDaemon>("crash");
    ASSERT_TRUE(d_->started()) << d_->Stderr();
    ASSERT_TRUE(d_->LoadBusybox());
  }
  void TearDown() override { d_.reset(); }

  int PidOf(const std::string& name) {
    nlohmann::json j = nlohmann::json::parse(d_->Berth({"inspect", name}).out, nullptr, false);
    if (!j.is_array() || j.empty()) return -1;
    return j[0]["State"].value("Pid", 0);
  }

  // The daemon's view, to start the next cycle from.
  Model Observe() {
    Model m;
    CommandResult images = d_->Berth({"images"});
    std::vector<std::string> lines = absl::StrSplit(images.out, '\n', absl::SkipEmpty());
    for (size_t i = 1; i < lines.size(); ++i) {
      std::vector<std::string> f = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
      if (f.size() >= 2) m.images.insert(f[0] + ":" + f[1]);
    }
    CommandResult ps = d_->Berth({"ps", "-a", "--format", "{{.Names}} {{.State}}"});
    for (absl::string_view line : absl::StrSplit(ps.out, '\n', absl::SkipEmpty())) {
      std::vector<std::string> f = absl::StrSplit(line, ' ');
      if (f.size() >= 2) m.containers[f[0]] = f[1] == "running";
    }
    return m;
  }

  // Runs `berth system check` until it is clean (work berthd does right after it starts,
  // such as deleting the tasks of containers that exited meanwhile, may be under way), for at
  // most 10 s. Returns the last output when it never is.
  bool CheckClean(std::string* last) {
    for (int i = 0; i < 40; ++i) {
      CommandResult r = d_->Berth({"system", "check"});
      *last = r.out + r.err;
      if (r.exit_code == 0) {
        if (i > 0) ++settling_;
        return true;
      }
      if (i == 0) std::cout << "crash: not yet settled:\n" << r.out << std::flush;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return false;
  }

  std::unique_ptr<CliDaemon> d_;
  int settling_ = 0;  // checks that were clean only after a retry
};

TEST_F(CrashTest, SigkillAtRandomPointsLosesNothingAndLeavesNothingDangling) {
  const int cycles = EnvInt("BERTH_CRASH_CYCLES", 10);
  const unsigned seed = static_cast<unsigned>(EnvInt("BERTH_CRASH_SEED", time(nullptr)));
  std::cout << "crash: " << cycles << " cycles, seed " << seed << std::endl;
  std::mt19937 rng(seed);

  // Containers that every restart must find running, with the same process.
  std::map<std::string, int> keepers;
  for (const char* name : {"keep-0", "keep-1"}) {
    CommandResult r = d_->Berth({"run", "-d", "--name", name, "busybox", "sleep", "1000000"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    keepers[name] = PidOf(name);
    ASSERT_GT(keepers[name], 0);
  }

  Model model = Observe();
  std::map<std::string, int> killed_during;  // what the CLI was doing when berthd died
  int survived = 0, ops_ok = 0, ops_failed = 0, next_name = 0;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    const std::string image = absl::StrCat("crash", cycle);
    const std::string archive = d_->MakeBlobImage(image, 4 + static_cast<int>(rng() % 20));
    ASSERT_FALSE(archive.empty());
    std::mutex mu;
    std::string current = "idle";
    std::atomic<bool> stop{false};
    std::mt19937 wrng(rng());
    std::vector<std::string> done;  // the commands of this cycle and how they ended
    std::thread worker([&] {
      bool loaded = false;
      while (!stop) {
        auto pick = [&](auto pred) -> std::string {
          std::vector<std::string> c;
          for (const auto& [name, running] : model.containers) {
            if (!absl::StartsWith(name, "keep-") && pred(running)) c.push_back(name);
          }
          return c.empty() ? "" : c[wrng() % c.size()];
        };
        std::vector<std::string> images(model.images.begin(), model.images.end());
        const std::string img = images.empty() ? "busybox:latest" : images[wrng() % images.size()];
        const int many = static_cast<int>(model.containers.size());
        const int dice = static_cast<int>(wrng() % 100);
        std::string op, target;
        std::vector<std::string> args;
        if (!loaded && (done.empty() ? dice < 60 : dice < 15)) {
          op = "load";
          args = {"load", "-q", "-i", archive};
          loaded = true;
        } else if (dice < 40 && many < 12) {
          target = absl::StrCat("c", next_name++);
          op = dice < 28 ? "run" : "create";
          args = {op, "--name", target, img, "sleep", "1000000"};
          if (op == "run") args.insert(args.begin() + 1, "-d");
        } else if (dice < 50 && !(target = pick([](bool r) { return !r; })).empty()) {
          op = "start";
          args = {"start", target};
        } else if (dice < 65 && !(target = pick([](bool r) { return r; })).empty()) {
          op = "exec";
          args = {"exec", target, "true"};
        } else if (dice < 72 && !(target = pick([](bool r) { return r; })).empty()) {
          op = "stop";
          args = {"stop", "-t", "0", target};
        } else if (dice < 90 && !(target = pick([](bool) { return true; })).empty()) {
          op = "rm";
          args = {"rm", "-f", target};
        } else if (dice < 95 && model.images.size() < 6) {
          op = "prune";
          args = {"container", "prune", "-f"};
        } else {
          op = "image prune";
          args = {"image", "prune", "-a", "-f"};
        }
        {
          std::lock_guard<std::mutex> l(mu);
          current = op;
        }
        CommandResult r = d_->Berth(args);
        std::lock_guard<std::mutex> l(mu);
        current = "idle";
        done.push_back(absl::StrCat(absl::StrJoin(args, " "), " → ", r.exit_code));
        if (r.exit_code != 0) {
          ++ops_failed;
          // Whatever it touched is now uncertain.
          if (op == "load") model.images.erase(image + ":latest");
          if (!target.empty()) model.containers.erase(target);
          if (op == "prune" || op == "image prune") {
            model = Model{};  // anything may be gone: only what berthd shows next is known
            for (const auto& [k, pid] : keepers) model.containers[k] = true;
          }
          continue;
        }
        ++ops_ok;
        if (op == "load") model.images.insert(image + ":latest");
        if (op == "run" || op == "create") model.containers[target] = op == "run";
        if (op == "start") model.containers[target] = true;
        if (op == "stop") model.containers[target] = false;
        if (op == "rm") model.containers.erase(target);
        if (op == "prune") {
          for (auto it = model.containers.begin(); it != model.containers.end();) {
            it = it->second ? std::next(it) : model.containers.erase(it);
          }
        }
        // Which images containers use is the daemon's to say: the pruned set is uncertain.
        if (op == "image prune") model.images.clear();
      }
    });
    // Half the kills come early, when a cycle's first command (often its load) is running.
    const int delay_ms = 30 + static_cast<int>(rng() % (rng() % 2 ? 700 : 2500));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    {
      std::lock_guard<std::mutex> l(mu);
      killed_during[current]++;
    }
    d_->Stop(SIGKILL);
    stop = true;
    worker.join();
    ASSERT_TRUE(d_->Start()) << "cycle " << cycle << ": " << d_->Stderr();
    const std::string history = absl::StrJoin(done, "\n  ");

    std::string out;
    ASSERT_TRUE(CheckClean(&out)) << "cycle " << cycle << ", seed " << seed << ":\n"
                                  << out << "after:\n  " << history;
    for (const auto& [name, pid] : keepers) {
      ASSERT_EQ(PidOf(name), pid) << "cycle " << cycle << ": " << name << " was restarted";
    }
    Model now = Observe();
    for (const std::string& img : model.images) {
      if (img == "busybox:latest") continue;
      EXPECT_TRUE(now.images.count(img))
          << "cycle " << cycle << ": lost image " << img << " after:\n  " << history;
    }
    for (const auto& [name, running] : model.containers) {
      ASSERT_TRUE(now.containers.count(name))
          << "cycle " << cycle << ": lost container " << name << " after:\n  " << history;
      EXPECT_EQ(now.containers[name], running)
          << "cycle " << cycle << ": " << name << (running ? " stopped" : " runs") << " after:\n  "
          << history;
    }
    if (::testing::Test::HasFailure()) break;
    model = now;
    ++survived;
  }

  std::vector<std::string> during;
  for (const auto& [op, n] : killed_during) during.push_back(absl::StrCat(op, " ", n));
  std::cout << "crash: survived " << survived << " of " << cycles << " cycles (seed " << seed
            << "); " << ops_ok << " commands completed, " << ops_failed
            << " cut short; killed during: " << absl::StrJoin(during, ", ") << "; " << settling_
            << " checks clean only after berthd settled" << std::endl;
  RecordProperty("cycles_survived", survived);
  EXPECT_EQ(survived, cycles);

  d_->RemoveAll();
  CommandResult left = d_->Berth({"ps", "-a"});
  EXPECT_EQ(std::count(left.out.begin(), left.out.end(), '\n'), 1) << left.out;
  std::string out;
  EXPECT_TRUE(CheckClean(&out)) << out;
  EXPECT_TRUE(ShimsUnder(d_->state()).empty());
  EXPECT_TRUE(MountsUnder(d_->state()).empty());
}

}  // namespace
}  // namespace berth::e2e
