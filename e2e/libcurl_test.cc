// berthd does not link libcurl: an idle daemon has no libcurl mapped, and the registry client
// loads it (dlopen) on its first registry operation.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

bool LibcurlMapped(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << "no maps for pid " << pid;
  return ss.str().find("libcurl") != std::string::npos;
}

TEST(LibcurlTest, LoadedByTheFirstRegistryOperationOnly) {
  ShortTempDir tmp("berth-curl");
  const std::string socket = tmp.path() + "/s.sock";
  Child daemon({Runfile("services/daemon/berthd"), "--root", tmp.path() + "/root", "--state",
                tmp.path() + "/state", "--address", "unix://" + socket, "--default-network",
                "none"});
  ASSERT_TRUE(WaitForListener(socket, daemon)) << daemon.Stderr();
  EXPECT_FALSE(LibcurlMapped(daemon.pid())) << "an idle berthd has libcurl mapped";

  // Nothing answers there: the pull fails, but only after the registry client ran.
  const std::string ref = "127.0.0.1:" + std::to_string(FreeLoopbackPort()) + "/nothing:latest";
  CommandResult pull = RunCommand({"/usr/bin/env", "BERTH_AUTH_CONFIG=/nonexistent",
                                   Runfile("ctl/berth"), "-H", "unix://" + socket, "pull", ref});
  EXPECT_NE(pull.exit_code, 0) << pull.out;
  EXPECT_EQ(pull.err.find("needs libcurl"), std::string::npos) << pull.err;
  EXPECT_NE(pull.err.find("127.0.0.1"), std::string::npos) << pull.err;
  EXPECT_TRUE(LibcurlMapped(daemon.pid())) << pull.err;

  EXPECT_EQ(daemon.Stop(SIGTERM), 0) << daemon.Stderr();
}

}  // namespace
}  // namespace berth::e2e
