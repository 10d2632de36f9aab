// OCI hooks under berth-runtime: every phase runs in order with the state on stdin, a failing
// hook fails its step, and a hook that hangs is stopped at its timeout. Needs root.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "e2e/harness/runtime_fixture.h"

namespace berth::e2e {
namespace {

using RuntimeHooks = RuntimeTest;

// A hook that appends its phase, and the status it read on stdin, to `log`.
nlohmann::json Hook(const std::string& phase, const std::string& log) {
  return {{"path", "/bin/sh"},
          {"args",
           {"sh", "-c",
            "s=$(cat | grep -o '\"status\": \"[a-z]*\"' | cut -d'\"' -f4); "
            "echo " +
                phase + " $s >> " + log}}};
}

TEST_F(RuntimeHooks, EveryPhaseRunsInOrderWithTheState) {
  BusyboxBundle b = Bundle({"sh", "-c", "echo program >> /hooks.log"});
  const std::string host_log = b.rootfs() + "/hooks.log";
  b.spec()["hooks"] = {
      {"prestart", {Hook("prestart", host_log)}},
      {"createRuntime", {Hook("createRuntime", host_log)}},
      {"createContainer", {Hook("createContainer", host_log)}},
      // Runs inside the container: its paths are the container's.
      {"startContainer", {Hook("startContainer", "/hooks.log")}},
      {"poststart", {Hook("poststart", host_log)}},
      {"poststop", {Hook("poststop", host_log)}},
  };
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string log = ReadWholeFile(host_log);
  const std::vector<std::string> in_order = {"prestart creating\n", "createRuntime creating\n",
                                             "createContainer creating\n",
                                             "startContainer created\n", "program\n"};
  size_t at = 0;
  for (const std::string& line : in_order) {
    size_t found = log.find(line, at);
    ASSERT_NE(found, std::string::npos) << line << " missing or out of order in:\n" << log;
    at = found + line.size();
  }
  EXPECT_NE(log.find("poststart running\n"), std::string::npos) << log;
  EXPECT_NE(log.find("poststop stopped\n"), std::string::npos) << log;
  EXPECT_EQ(log.rfind("poststop"), log.size() - std::string("poststop stopped\n").size()) << log;
}

TEST_F(RuntimeHooks, FailingPrestartFailsCreateAndLeavesNothing) {
  BusyboxBundle b = Bundle({"true"});
  b.spec()["hooks"] = {
      {"prestart", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo no network >&2; exit 3"}}}}}};
  b.Write();
  CommandResult r = Rt({"create", "--bundle", b.dir(), id_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hooks.prestart[0] /bin/sh: exit status 3: no network"), std::string::npos)
      << r.err;
  EXPECT_EQ(State(), "gone");
}

TEST_F(RuntimeHooks, HangingHookIsStoppedAtItsTimeout) {
  BusyboxBundle b = Bundle({"true"});
  b.spec()["hooks"] = {
      {"createRuntime", {{{"path", "/bin/sleep"}, {"args", {"sleep", "30"}}, {"timeout", 1}}}}};
  b.Write();
  CommandResult r = Rt({"create", "--bundle", b.dir(), id_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hooks.createRuntime[0] /bin/sleep: timed out after 1s"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace berth::e2e
