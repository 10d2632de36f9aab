#include "runtime/linux/process.h"

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

TEST(ExecCandidates, SearchesTheContainersPath) {
  EXPECT_EQ(ExecCandidates("sh", "/bin:/usr/bin"),
            (std::vector<std::string>{"/bin/sh", "/usr/bin/sh"}));
  EXPECT_EQ(ExecCandidates("./run", "/bin"), std::vector<std::string>{"./run"});
  EXPECT_EQ(ExecCandidates("/bin/true", "/x"), std::vector<std::string>{"/bin/true"});
  EXPECT_EQ(ExecCandidates("ls", ":/bin"), (std::vector<std::string>{"./ls", "/bin/ls"}));
  // No PATH in the container's env: the conventional default.
  EXPECT_EQ(ExecCandidates("ls", "").back(), "/bin/ls");
}

TEST(ExecProcess, NotFoundIsExit127WithRuncsWording) {
  Process p;
  p.args = {"definitely-not-a-program"};
  p.env = {"PATH=/nonexistent"};
  ExecFailure f = ExecProcess(p);
  EXPECT_EQ(f.exit_code, 127);
  EXPECT_EQ(f.status.message(),
            "exec: \"definitely-not-a-program\": executable file not found in $PATH");
}

TEST(ExecProcess, NotExecutableIsExit126) {
  Process p;
  p.args = {"/etc/hostname"};
  ExecFailure f = ExecProcess(p);
  EXPECT_EQ(f.exit_code, 126);
}

}  // namespace
}  // namespace berth::runtime
