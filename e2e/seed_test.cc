// The seed notes, section by section, as a user would walk them: only the built `berth` and
// `berthd`, one daemon for the whole suite (its own root, state, socket and bridge), and every
// test cleaning up what it made. Midway the daemon is killed with SIGKILL and restarted; the
// tests after it pass all the same. Needs root.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "e2e/harness/engine.h"
#include "e2e/harness/process.h"
#include "services/network/netlink.h"

namespace berth::e2e {
namespace {

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

class Seed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::random_device rd;
    const unsigned random = rd();
    bridge_ = new std::string(absl::StrCat("bs", random % 100000));
    daemon_ =
        new Engine({.prefix = "berth-seed",
                    .config = absl::StrCat("bridge_name: ", *bridge_, "\nbridge_subnet: 10.",
                                           150 + random % 40, ".", (random >> 8) % 250, ".0/24\n"),
                    .flags = {"--default-network", "bridge"}});
    ASSERT_TRUE(daemon_->started()) << daemon_->Stderr();
    CommandResult r = daemon_->LoadImage("busybox");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  static void TearDownTestSuite() {
    // Whatever a failed test left: every container goes, then the daemon and its bridge.
    daemon_->RemoveAll();
    Berth({"volume", "rm", "-f", "my-volume"});
    delete daemon_;
    if (absl::StatusOr<network::Netlink> nl = network::Netlink::Open(); nl.ok()) {
      if (absl::StatusOr<int> idx = nl->LinkIndex(*bridge_); idx.ok()) {
        nl->DeleteLink(*idx).IgnoreError();
      }
    }
    delete bridge_;
  }

  static CommandResult Berth(std::vector<std::string> args) {
    return daemon_->Berth(std::move(args));
  }

  // `berth …` that must succeed; its stdout, trimmed.
  static std::string Ok(std::vector<std::string> args) {
    CommandResult r = Berth(args);
    EXPECT_EQ(r.exit_code, 0) << absl::StrJoin(args, " ") << ": " << r.err;
    return Trim(r.out);
  }

  static inline Engine* daemon_ = nullptr;
  static inline std::string* bridge_ = nullptr;
};

// ## Dockerfile / ## docker build: FROM, WORKDIR, COPY, RUN, EXPOSE, CMD, run top to bottom
// into an image named with -t.
TEST_F(Seed, DockerfileBuildsAnImageNamedWithT) {
  const std::string ctx = daemon_->dir() + "/app";
  ASSERT_EQ(RunCommand({"/bin/mkdir", "-p", ctx}).exit_code, 0);
  std::ofstream(ctx + "/hello.txt") << "hello from the build context\n";
  std::ofstream(ctx + "/Dockerfile") << "FROM busybox\n"
                                        "WORKDIR /app\n"
                                        "COPY hello.txt .\n"
                                        "RUN echo built-by-run > /app/built.txt\n"
                                        "EXPOSE 8080\n"
                                        "CMD [\"cat\", \"/app/hello.txt\", \"/app/built.txt\"]\n";
  CommandResult r = Berth({"build", "-t", "seed-app:1", ctx});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Ok({"run", "--rm", "seed-app:1"}), "hello from the build context\nbuilt-by-run");
  EXPECT_EQ(Ok({"run", "--rm", "seed-app:1", "pwd"}), "/app");
  const std::string config = Ok({"image", "inspect", "seed-app:1"});
  EXPECT_TRUE(absl::StrContains(config, "8080/tcp")) << config;
  // ## Image: made of layers (busybox's, COPY's and RUN's).
  EXPECT_TRUE(absl::StrContains(Ok({"images"}), "seed-app"));
}

// ## Image: read-only; ## Container: a mutable instance, its writes gone with it.
TEST_F(Seed, ContainersShareAReadOnlyImageAndTheirWritesDieWithThem) {
  Ok({"run", "-d", "--name", "writer", "busybox", "sleep", "1000"});
  Ok({"exec", "writer", "sh", "-c", "echo mine > /tmp/note && mkdir /new-dir"});
  EXPECT_EQ(Ok({"exec", "writer", "cat", "/tmp/note"}), "mine");
  // Another container from the same image does not see it, nor does the image.
  CommandResult other = Berth({"run", "--rm", "busybox", "cat", "/tmp/note"});
  EXPECT_NE(other.exit_code, 0);
  Ok({"stop", "-t", "1", "writer"});
  Ok({"rm", "writer"});
  EXPECT_NE(Berth({"run", "--rm", "busybox", "test", "-d", "/new-dir"}).exit_code, 0);
}

// ## Volume: `-v my-volume:/app/data` outlives the container.
TEST_F(Seed, VolumeDataOutlivesTheContainer) {
  Ok({"run", "--name", "vol-writer", "-v", "my-volume:/app/data", "busybox", "sh", "-c",
      "echo kept > /app/data/file"});
  Ok({"rm", "vol-writer"});
  EXPECT_EQ(Ok({"run", "--rm", "-v", "my-volume:/app/data", "busybox", "cat", "/app/data/file"}),
            "kept");
}

// # Kernel Primitives: each namespace, seen from inside.
TEST_F(Seed, NamespacesSeenFromInside) {
  char host_name[256] = {};
  gethostname(host_name, sizeof(host_name) - 1);
  const std::string script =
      "echo pid=$$; echo host=$(hostname); echo net=$(ls /sys/class/net | tr '\\n' ,);"
      "echo root=$(awk '$2==\"/\"{print $3}' /proc/mounts);"
      "echo cgroup=$(cat /proc/self/cgroup);"
      "for n in ipc mnt net pid uts cgroup user; do echo ns-$n=$(readlink /proc/self/ns/$n); done";
  std::string out = Ok({"run", "--rm", "--hostname", "seedbox", "busybox", "sh", "-c", script});
  auto value = [&](const std::string& key) {
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      if (absl::StartsWith(line, key + "=")) return std::string(line.substr(key.size() + 1));
    }
    return std::string();
  };
  EXPECT_EQ(value("pid"), "1");         // PID namespace: the command is pid 1
  EXPECT_EQ(value("host"), "seedbox");  // UTS namespace
  EXPECT_NE(value("host"), host_name);
  EXPECT_EQ(value("net"), "eth0,lo,");  // network namespace: its own interfaces
  EXPECT_EQ(value("root"), "overlay");  // mount namespace: the layered root
  // cgroup namespace: its own cgroup is the root of the v2 hierarchy (this host is hybrid, so
  // v1 lines follow; on a pure v2 host "0::/" is the only one).
  EXPECT_TRUE(absl::StrContains(" " + value("cgroup") + " ", " 0::/ ")) << value("cgroup");
  for (const char* ns : {"ipc", "mnt", "net", "pid", "uts", "cgroup"}) {
    char host_link[128] = {};
    readlink(absl::StrCat("/proc/self/ns/", ns).c_str(), host_link, sizeof(host_link) - 1);
    EXPECT_NE(value(absl::StrCat("ns-", ns)), host_link) << ns << " is the host's";
  }
  // Without --userns the container's users are the host's (as Docker's default); with a user
  // namespace (berth-runtime's linux.uidMappings, e2e/runtime_security_test) they are not.
  char host_user[128] = {};
  readlink("/proc/self/ns/user", host_user, sizeof(host_user) - 1);
  EXPECT_EQ(value("ns-user"), host_user);
}

// ## docker run: -d, --name, -p, -e, --env-file, --rm.
TEST_F(Seed, RunDetachedNamedPublishedWithEnvironment) {
  const std::string env_file = daemon_->dir() + "/app.env";
  std::ofstream(env_file) << "API_KEY=from-file\n";
  const int port = FreeLoopbackPort();
  Ok({"run", "-d", "--name", "site", "-p", absl::StrCat("127.0.0.1:", port, ":80"), "-e",
      "DB_PASSWORD=secret", "--env-file", env_file, "busybox", "sh", "-c",
      "mkdir /www && echo \"$DB_PASSWORD $API_KEY\" > /www/index.html && exec httpd -f -p 80 -h "
      "/www"});
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(static_cast<uint16_t>(port));
  std::string page;
  for (int i = 0; i < 100 && !absl::StrContains(page, "secret from-file"); ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
      const std::string req = "GET /index.html HTTP/1.0\r\n\r\n";
      (void)!write(fd, req.data(), req.size());
      char buf[2048];
      pollfd p{fd, POLLIN, 0};
      while (poll(&p, 1, 1000) > 0) {
        const ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) break;
        page.append(buf, static_cast<size_t>(n));
      }
    }
    close(fd);
    if (!absl::StrContains(page, "secret from-file")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(absl::StrContains(page, "secret from-file")) << page;
  Ok({"rm", "-f", "site"});
  // --rm: gone once it stops.
  Ok({"run", "--rm", "--name", "ephemeral", "busybox", "true"});
  EXPECT_NE(Berth({"inspect", "ephemeral"}).exit_code, 0);
}

// The daemon dies (SIGKILL) in the middle of the suite and comes back; a container started
// before keeps running and answers, and the rest of the suite goes on.
TEST_F(Seed, DaemonKilledMidSuiteIsRestartedAndContainersSurvive) {
  Ok({"run", "-d", "--name", "survivor", "busybox", "sleep", "1000"});
  ASSERT_EQ(daemon_->Stop(SIGKILL), 128 + SIGKILL);
  ASSERT_TRUE(daemon_->Start()) << daemon_->Stderr();
  EXPECT_TRUE(absl::StrContains(Ok({"ps"}), "survivor"));
  EXPECT_EQ(Ok({"exec", "survivor", "echo", "still-here"}), "still-here");
  Ok({"rm", "-f", "survivor"});
}

// ## docker ps (-a, -l), start, stop (one, and all with ps -q), rm, container prune.
TEST_F(Seed, PsStartStopRmAndPrune) {
  Ok({"create", "--name", "made", "busybox", "sleep", "1000"});
  Ok({"run", "-d", "--name", "up1", "busybox", "sleep", "1000"});
  Ok({"run", "-d", "--name", "up2", "busybox", "sleep", "1000"});
  Ok({"run", "--name", "done", "busybox", "true"});
  const std::string running = Ok({"ps"});
  EXPECT_TRUE(absl::StrContains(running, "up1") && absl::StrContains(running, "up2"));
  EXPECT_FALSE(absl::StrContains(running, "made") || absl::StrContains(running, " done"));
  const std::string all = Ok({"ps", "-a"});
  EXPECT_TRUE(absl::StrContains(all, "made") && absl::StrContains(all, "done") &&
              absl::StrContains(all, "Created") && absl::StrContains(all, "Exited (0)"))
      << all;
  EXPECT_TRUE(absl::StrContains(Ok({"ps", "-l"}), "done"));  // the last one created

  Ok({"start", "made"});
  EXPECT_TRUE(absl::StrContains(Ok({"ps"}), "made"));
  // Stop all containers: berth stop $(berth ps -q).
  std::vector<std::string> stop = {"stop", "-t", "1"};
  for (absl::string_view id : absl::StrSplit(Ok({"ps", "-q"}), '\n', absl::SkipEmpty())) {
    stop.push_back(std::string(id));
  }
  ASSERT_GE(stop.size(), 6u);
  Ok(stop);
  EXPECT_EQ(Ok({"ps", "-q"}), "");
  Ok({"rm", "made"});
  EXPECT_FALSE(absl::StrContains(Ok({"ps", "-a"}), "made"));
  const std::string pruned = Ok({"container", "prune", "-f"});
  EXPECT_TRUE(absl::StrContains(pruned, "Deleted Containers")) << pruned;
  EXPECT_EQ(Ok({"ps", "-aq"}), "");
}

// ## docker exec and ## docker attach: a new command in a running container, and the main
// process's live output.
TEST_F(Seed, ExecIntoAndAttachToARunningContainer) {
  Ok({"run", "-d", "--name", "talker", "busybox", "sh", "-c",
      "sleep 1; for i in 1 2 3; do echo tick-$i; sleep 0.3; done"});
  CommandResult attached = Berth({"attach", "talker"});
  EXPECT_EQ(attached.exit_code, 0) << attached.err;
  EXPECT_TRUE(absl::StrContains(attached.out, "tick-3")) << attached.out;

  Ok({"run", "-d", "--name", "debug-me", "busybox", "sleep", "1000"});
  EXPECT_EQ(Ok({"exec", "debug-me", "sh", "-c", "ps -o comm | grep -c sleep"}), "1");
  Ok({"rm", "-f", "talker", "debug-me"});
}

}  // namespace
}  // namespace berth::e2e
