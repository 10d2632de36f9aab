// berth-runtime on a real kernel: namespaces, mounts, pivot_root, cgroups, the console socket.
// Needs root (tagged requires-root).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "absl/status/statusor.h"
#include "e2e/harness/bundle.h"
#include "e2e/harness/process.h"
#include "e2e/harness/runtime_fixture.h"
#include "runtime/cgroup.h"

namespace berth::e2e {
namespace {

using Runtime = RuntimeTest;

std::string HostNs(const std::string& kind) {
  char buf[256];
  ssize_t n = readlink(("/proc/self/ns/" + kind).c_str(), buf, sizeof(buf));
  return std::string(buf, n > 0 ? n : 0);
}

TEST_F(Runtime, RunReturnsOutputAndExitCode) {
  BusyboxBundle b = Bundle({"sh", "-c", "echo out; echo err >&2; exit 7"});
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(State(), "gone") << "run deletes the container after it exits";
}

TEST_F(Runtime, InitIsPid1AndHostProcessesAreInvisible) {
  BusyboxBundle b = Bundle({"sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'"});
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int pid = -1, count = -1;
  sscanf(r.out.c_str(), "%d\n%d", &pid, &count);
  EXPECT_EQ(pid, 1);
  EXPECT_GE(count, 1);
  EXPECT_LE(count, 4) << r.out;  // sh, ls and grep at most
}

TEST_F(Runtime, NamespacesDifferFromTheHostsAndHostnameIsSet) {
  BusyboxBundle b = Bundle({"sh", "-c",
                            "for n in pid mnt uts ipc net; do readlink /proc/self/ns/$n; done; "
                            "hostname"});
  b.spec()["hostname"] = "berth-test";
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* ns : {"pid", "mnt", "uts", "ipc", "net"}) {
    EXPECT_NE(r.out.find(std::string(ns) + ":["), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find(HostNs(ns)), std::string::npos) << ns << " is the host's";
  }
  EXPECT_NE(r.out.find("\nberth-test\n"), std::string::npos) << r.out;
}

TEST_F(Runtime, MountsAsConfiguredAndReadOnlyBinds) {
  const std::string data = tmp_.path() + "/data";
  mkdir(data.c_str(), 0755);
  std::ofstream(data + "/f") << "host file\n";
  BusyboxBundle b = Bundle({"sh", "-c",
                            "grep ' /scratch ' /proc/mounts; cat /data/f; "
                            "touch /data/g && echo wrote || echo refused; "
                            "cat /proc/kcore | wc -c; echo 1 > /proc/sys/kernel/ns_last_pid && "
                            "echo sysrw || echo sysro"});
  b.spec()["mounts"].push_back({{"destination", "/scratch"},
                                {"type", "tmpfs"},
                                {"source", "tmpfs"},
                                {"options", {"nosuid", "size=1m"}}});
  b.spec()["mounts"].push_back(
      {{"destination", "/data"}, {"type", "bind"}, {"source", data}, {"options", {"rbind", "ro"}}});
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tmpfs /scratch tmpfs rw,nosuid"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("host file\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("refused"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n0\n"), std::string::npos) << "masked /proc/kcore: " << r.out;
  EXPECT_NE(r.out.find("sysro"), std::string::npos) << "read-only /proc/sys: " << r.out;
  struct stat st;
  EXPECT_NE(stat((data + "/g").c_str(), &st), 0);
}

TEST_F(Runtime, ReadOnlyRootRefusesWrites) {
  BusyboxBundle b = Bundle({"sh", "-c", "touch /newfile"});
  b.spec()["root"]["readonly"] = true;
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
}

TEST_F(Runtime, StatesCgroupKillAndDelete) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  absl::StatusOr<std::string> mount = runtime::FindCgroup2Mount();
  ASSERT_TRUE(mount.ok());
  const std::string cg = *mount + CgroupParent() + "/" + id_;
  const std::string pid_file = tmp_.path() + "/pid";

  CommandResult c = Rt({"create", "--bundle", b.dir(), "--pid-file", pid_file, id_});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(State(), "created");
  std::ifstream pf(pid_file);
  int pid = 0;
  pf >> pid;
  EXPECT_GT(pid, 0);
  std::ifstream procs(cg + "/cgroup.procs");
  int in_cgroup = 0;
  procs >> in_cgroup;
  EXPECT_EQ(in_cgroup, pid) << "init lives in the container's cgroup from birth";

  ASSERT_EQ(Rt({"start", id_}).exit_code, 0);
  EXPECT_EQ(State(), "running");
  CommandResult again = Rt({"start", id_});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("it is running, not created"), std::string::npos) << again.err;

  ASSERT_EQ(Rt({"pause", id_}).exit_code, 0);
  EXPECT_EQ(State(), "paused");
  ASSERT_EQ(Rt({"resume", id_}).exit_code, 0);
  EXPECT_EQ(State(), "running");

  CommandResult busy = Rt({"delete", id_});
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_NE(busy.err.find("use --force"), std::string::npos);

  ASSERT_EQ(Rt({"kill", id_, "KILL"}).exit_code, 0);
  for (int i = 0; i < 200 && State() != "stopped"; ++i) usleep(10000);
  EXPECT_EQ(State(), "stopped");
  ASSERT_EQ(Rt({"delete", id_}).exit_code, 0);
  EXPECT_EQ(State(), "gone");
  struct stat st;
  EXPECT_NE(stat(cg.c_str(), &st), 0) << "cgroup removed on delete";
}

TEST_F(Runtime, ExecJoinsTheContainersNamespaces) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  b.Write();
  const std::string pid_file = tmp_.path() + "/pid";
  ASSERT_EQ(Rt({"run", "--detach", "--bundle", b.dir(), "--pid-file", pid_file, id_}).exit_code, 0);
  int pid = 0;
  std::ifstream(pid_file) >> pid;
  CommandResult r = Rt({"exec", id_, "sh", "-c",
                        "for n in pid mnt uts ipc net; do readlink /proc/self/ns/$n; done; "
                        "cat /proc/1/comm; exit 5"});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  for (const char* ns : {"pid", "mnt", "uts", "ipc", "net"}) {
    char buf[256];
    ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/ns/" + ns).c_str(), buf, sizeof(buf));
    ASSERT_GT(n, 0);
    EXPECT_NE(r.out.find(std::string(buf, n)), std::string::npos) << ns << ": " << r.out;
  }
  EXPECT_NE(r.out.find("sleep\n"), std::string::npos) << r.out;
  CommandResult missing = Rt({"exec", id_, "no-such-program"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("executable file not found in $PATH"), std::string::npos)
      << missing.err;
}

TEST_F(Runtime, ConsoleSocketReceivesAWorkingPty) {
  BusyboxBundle b = Bundle({"sh", "-c", "tty; stty size"});
  b.spec()["process"]["terminal"] = true;
  b.spec()["process"]["consoleSize"] = {{"height", 31}, {"width", 97}};
  b.Write();
  const std::string sock = tmp_.path() + "/console.sock";
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, sock.c_str(), sock.size());
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(listen(lfd, 1), 0);

  CommandResult c = Rt({"create", "--bundle", b.dir(), "--console-socket", sock, id_});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  int conn = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(conn, 0);
  char name[256];
  iovec iov{.iov_base = name, .iov_len = sizeof(name)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ASSERT_GT(recvmsg(conn, &msg, 0), 0);
  int master = -1;
  std::memcpy(&master, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
  ASSERT_GE(master, 0);

  ASSERT_EQ(Rt({"start", id_}).exit_code, 0);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = read(master, buf, sizeof(buf))) > 0) out.append(buf, n);  // EIO once sh exits
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  EXPECT_NE(out.find("31 97"), std::string::npos) << out;
  close(master);
  close(conn);
  close(lfd);
}

TEST_F(Runtime, UserNamespaceMapsIds) {
  // The remapped root is not the host's root: it needs to traverse the bundle's directories.
  chmod(tmp_.path().c_str(), 0755);
  BusyboxBundle b = Bundle({"sh", "-c", "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox"});
  b.spec()["linux"]["namespaces"].push_back({{"type", "user"}});
  b.spec()["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.spec()["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("100000"), std::string::npos) << r.out;
  // Files owned by the host's root are unmapped, so they show as the overflow uid.
  EXPECT_NE(r.out.find("65534"), std::string::npos) << r.out;
}

TEST_F(Runtime, TimeNamespaceOffsetsTheClock) {
  BusyboxBundle b = Bundle({"cat", "/proc/uptime"});
  b.spec()["linux"]["namespaces"].push_back({{"type", "time"}});
  b.spec()["linux"]["timeOffsets"] = {{"boottime", {{"secs", 10 * 86400}, {"nanosecs", 0}}}};
  b.Write();
  CommandResult r = Rt({"run", "--bundle", b.dir(), id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(std::stod(r.out), 10 * 86400.0) << r.out;
}

TEST_F(Runtime, JoinsANamespaceByPath) {
  BusyboxBundle first = Bundle({"sleep", "1000"});
  const std::string pid_file = tmp_.path() + "/pid";
  ASSERT_EQ(Rt({"run", "--detach", "--bundle", first.dir(), "--pid-file", pid_file, id_}).exit_code,
            0);
  int pid = 0;
  std::ifstream(pid_file) >> pid;
  const std::string net = "/proc/" + std::to_string(pid) + "/ns/net";
  char buf[256];
  ssize_t n = readlink(net.c_str(), buf, sizeof(buf));
  ASSERT_GT(n, 0);

  BusyboxBundle second(tmp_.path() + "/bundle2", {"readlink", "/proc/self/ns/net"});
  second.spec()["linux"]["cgroupsPath"] = CgroupParent() + "/" + id_ + "-2";
  for (auto& ns : second.spec()["linux"]["namespaces"]) {
    if (ns["type"] == "network") ns["path"] = net;
  }
  second.Write();
  CommandResult r = Rt({"run", "--bundle", second.dir(), id_ + "-2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string(buf, n) + "\n");
}

TEST_F(Runtime, BadInputGetsAClearErrorAndLeavesNothing) {
  BusyboxBundle b = Bundle({"true"});
  std::ofstream(b.dir() + "/config.json") << "{\"root\": {\"path\": \"rootfs\"}, \"linux\": "
                                             "{\"namespaces\": [{\"type\": \"pidd\"}]}}";
  CommandResult r = Rt({"create", "--bundle", b.dir(), id_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("linux.namespaces[0].type: unknown namespace type \"pidd\""),
            std::string::npos)
      << r.err;
  EXPECT_EQ(State(), "gone");
}

TEST_F(Runtime, LimitOnAControllerTheHierarchyLacksIsRefused) {
  absl::StatusOr<std::string> mount = runtime::FindCgroup2Mount();
  ASSERT_TRUE(mount.ok());
  std::ifstream ctl(*mount + "/cgroup.controllers");
  std::string controllers((std::istreambuf_iterator<char>(ctl)), {});
  if (controllers.find("memory") != std::string::npos) {
    GTEST_SKIP() << "this host's cgroup v2 has memory; limits are tested in the qemu e2e suite";
  }
  BusyboxBundle b = Bundle({"true"});
  b.spec()["linux"]["resources"]["memory"] = {{"limit", 64 << 20}};
  b.Write();
  CommandResult r = Rt({"create", "--bundle", b.dir(), id_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("linux.resources.memory.limit: the memory controller is not available"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(State(), "gone");
}

}  // namespace
}  // namespace berth::e2e
