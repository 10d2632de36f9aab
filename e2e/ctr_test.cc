// A real client drives berth-runtime: containerd 1.6's runc shim, told by `ctr run
// --runc-binary` to use berth-runtime in place of runc. Needs root and Debian's containerd.
//
// containerd runs in a private mount namespace with the cgroup2 hierarchy mounted at
// /sys/fs/cgroup, so that it and its shim see a pure cgroup v2 host and never touch this
// machine's v1 hierarchies.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "absl/status/statusor.h"
#include "e2e/harness/process.h"
#include "runtime/cgroup.h"

namespace berth::e2e {
namespace {

const std::string kRuntime = Runfile("runtime/berth-runtime");
const std::string kMakeImage = Runfile("e2e/fixtures/make_oci_image.py");

bool Installed(const char* path) { return access(path, X_OK) == 0; }

TEST(Ctr, RunsAContainerThroughContainerdsRuncShim) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  if (!Installed("/usr/bin/containerd") || !Installed("/usr/bin/ctr")) {
    GTEST_SKIP() << "containerd is not installed (scripts/install-deps.sh installs it)";
  }
  ShortTempDir tmp("berth-ctr");
  const std::string d = tmp.path();
  const std::string sock = d + "/c.sock";
  std::ofstream(d + "/config.toml")
      << "version = 2\nroot = \"" << d << "/root\"\nstate = \"" << d << "/state\"\n"
      << "disabled_plugins = [\"io.containerd.grpc.v1.cri\", "
         "\"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\", "
         "\"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.aufs\"]\n"
      << "[grpc]\n  address = \"" << sock << "\"\n[ttrpc]\n  address = \"" << sock << ".ttrpc\"\n";
  Child containerd({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                    "mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec /usr/bin/containerd "
                    "--config " +
                        d + "/config.toml --log-level warn"});
  ASSERT_TRUE(WaitForListener(sock, containerd, std::chrono::seconds(30))) << containerd.Stderr();

  CommandResult image =
      RunCommand({"/usr/bin/python3", kMakeImage, d + "/bb.tar", "docker.io/library/bb:latest"});
  ASSERT_EQ(image.exit_code, 0) << image.err;
  auto ctr = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/ctr", "--address", sock, "--namespace", "berth-test"});
    return RunCommand(args);
  };
  CommandResult import = ctr({"images", "import", d + "/bb.tar"});
  ASSERT_EQ(import.exit_code, 0) << import.err;

  CommandResult run =
      ctr({"run", "--rm", "--runc-binary", kRuntime, "docker.io/library/bb:latest", "ctr-berth-1",
           "sh", "-c", "echo hello from $(hostname) as pid $$; exit 3"});
  EXPECT_EQ(run.exit_code, 3) << run.err << containerd.Stderr();
  // ctr gives the container a uts namespace but no hostname of its own: it keeps the host's.
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  EXPECT_EQ(run.out, std::string("hello from ") + host + " as pid 1\n") << run.err;

  // A second container, driven the long way: detached, then killed through the shim.
  CommandResult bg = ctr({"run", "-d", "--runc-binary", kRuntime, "docker.io/library/bb:latest",
                          "ctr-berth-2", "sleep", "1000"});
  ASSERT_EQ(bg.exit_code, 0) << bg.err << containerd.Stderr();
  CommandResult tasks = ctr({"tasks", "ls"});
  EXPECT_NE(tasks.out.find("ctr-berth-2"), std::string::npos) << tasks.out;
  EXPECT_NE(tasks.out.find("RUNNING"), std::string::npos) << tasks.out;
  CommandResult exec =
      ctr({"tasks", "exec", "--exec-id", "e1", "ctr-berth-2", "cat", "/proc/1/comm"});
  EXPECT_EQ(exec.exit_code, 0) << exec.err;
  EXPECT_EQ(exec.out, "sleep\n");
  EXPECT_EQ(ctr({"tasks", "kill", "--signal", "KILL", "ctr-berth-2"}).exit_code, 0);
  for (int i = 0; i < 100; ++i) {
    if (ctr({"tasks", "ls"}).out.find("STOPPED") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CommandResult rm = ctr({"tasks", "delete", "ctr-berth-2"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(ctr({"containers", "delete", "ctr-berth-2"}).exit_code, 0);

  // Stop containerd (its shims are gone with their tasks), then the namespace's cgroup parent.
  EXPECT_EQ(ctr({"images", "rm", "docker.io/library/bb:latest"}).exit_code, 0);
  containerd.Stop(SIGTERM, std::chrono::seconds(20));
  absl::StatusOr<std::string> mount = runtime::FindCgroup2Mount();
  if (mount.ok()) rmdir((*mount + "/berth-test").c_str());
  // The overlay mounts of the snapshots live in containerd's private namespace and died with
  // it; the snapshot directories go with the temporary directory.
}

}  // namespace
}  // namespace berth::e2e
