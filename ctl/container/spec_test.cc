#include "ctl/container/spec.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/capabilities.h"
#include "ctl/container/capabilities.h"
#include "ctl/container/labels.h"
#include "ctl/container/seccomp_default.h"

namespace berth::ctl {
namespace {

using json = nlohmann::json;
using Strings = std::vector<std::string>;

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// This machine: hard NOFILE 20000, no CAP_SYS_RESOURCE, two CPUs.
const HostFacts kHost = {20000, 0x000001fffeffffffULL, 2};

const json kBusybox = {
    {"architecture", "amd64"},
    {"os", "linux"},
    {"config",
     {{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
      {"Cmd", {"sh"}}}},
};

ContainerOptions Options() {
  ContainerOptions o;
  o.id = kId;
  o.lookup_env = [](const std::string& k) -> absl::optional<std::string> {
    if (k == "FROM_CALLER") return std::string("yes");
    return absl::nullopt;
  };
  return o;
}

json Build(const json& image, const ContainerOptions& o, const HostFacts& host = kHost) {
  absl::StatusOr<json> spec = BuildSpec(image, o, host);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : json();
}

std::string BuildError(const json& image, const ContainerOptions& o) {
  absl::StatusOr<json> spec = BuildSpec(image, o, kHost);
  return spec.ok() ? "OK" : std::string(spec.status().message());
}

Strings Destinations(const json& spec) {
  Strings out;
  for (const json& m : spec["mounts"]) out.push_back(m["destination"]);
  return out;
}

const json* FindMount(const json& spec, const std::string& dest) {
  for (const json& m : spec["mounts"]) {
    if (m["destination"] == dest) return &m;
  }
  return nullptr;
}

TEST(BuildSpec, DockerDefaultsForBusybox) {
  const json spec = Build(kBusybox, Options());
  EXPECT_EQ(spec["ociVersion"], "1.0.2");
  const json& p = spec["process"];
  EXPECT_EQ(p["terminal"], false);
  EXPECT_EQ(p["args"], json({"sh"}));
  EXPECT_EQ(p["env"], json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                            "HOSTNAME=0123456789ab"}));
  EXPECT_EQ(p["cwd"], "/");
  // Without the rootfs the daemon resolves the user (and HOME) when it creates the task.
  EXPECT_EQ(p["user"], json({{"uid", 0}, {"gid", 0}, {"username", "0"}}));
  EXPECT_EQ(p["capabilities"]["bounding"], json(DefaultCapabilities()));
  EXPECT_EQ(p["capabilities"]["effective"], json(DefaultCapabilities()));
  EXPECT_EQ(p["capabilities"]["permitted"], json(DefaultCapabilities()));
  EXPECT_FALSE(p["capabilities"].contains("inheritable"));
  EXPECT_FALSE(p["capabilities"].contains("ambient"));
  EXPECT_EQ(p["rlimits"], json::parse(R"([{"type":"RLIMIT_NOFILE","hard":20000,"soft":1024}])"));
  EXPECT_EQ(p["noNewPrivileges"], true);
  EXPECT_EQ(spec["root"], json({{"path", "rootfs"}, {"readonly", false}}));
  EXPECT_EQ(spec["hostname"], "0123456789ab");
  EXPECT_EQ(Destinations(spec), Strings({"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup",
                                         "/dev/mqueue", "/dev/shm"}));
  EXPECT_EQ((*FindMount(spec, "/sys"))["options"], json({"nosuid", "noexec", "nodev", "ro"}));
  EXPECT_EQ((*FindMount(spec, "/dev/shm"))["options"],
            json({"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  const json& l = spec["linux"];
  EXPECT_EQ(l["namespaces"], json::parse(R"([{"type":"pid"},{"type":"ipc"},{"type":"uts"},
                                             {"type":"mount"},{"type":"network"},
                                             {"type":"cgroup"}])"));
  EXPECT_EQ(l["cgroupsPath"], "/berth/default/" + kId);
  EXPECT_EQ(l["resources"], json::parse(R"({"devices":[{"allow":false,"access":"rwm"}]})"));
  EXPECT_EQ(l["maskedPaths"], json(DefaultMaskedPaths()));
  EXPECT_EQ(l["readonlyPaths"], json(DefaultReadonlyPaths()));
  EXPECT_NE(std::find(DefaultMaskedPaths().begin(), DefaultMaskedPaths().end(), "/proc/kcore"),
            DefaultMaskedPaths().end());
  EXPECT_EQ(l["seccomp"], DefaultSeccompProfile(DefaultCapabilities()));
}

TEST(BuildSpec, NofileNeverAboveTheHostsHardLimit) {
  HostFacts roomy = kHost;
  roomy.nofile_hard = 1 << 30;
  EXPECT_EQ(Build(kBusybox, Options(), roomy)["process"]["rlimits"][0]["hard"], 1048576);
  HostFacts tight = kHost;
  tight.nofile_hard = 512;
  const json r = Build(kBusybox, Options(), tight)["process"]["rlimits"][0];
  EXPECT_EQ(r["hard"], 512);
  EXPECT_EQ(r["soft"], 512);
}

TEST(BuildSpec, EntrypointAndCmd) {
  const json image = {{"config", {{"Entrypoint", {"/entry.sh"}}, {"Cmd", {"--serve"}}}}};
  ContainerOptions o = Options();
  EXPECT_EQ(Build(image, o)["process"]["args"], json({"/entry.sh", "--serve"}));
  o.args = {"--debug", "x"};
  EXPECT_EQ(Build(image, o)["process"]["args"], json({"/entry.sh", "--debug", "x"}));
  // --entrypoint replaces the image's, and drops its Cmd.
  o = Options();
  o.entrypoint = "/bin/sh";
  EXPECT_EQ(Build(image, o)["process"]["args"], json({"/bin/sh"}));
  o.args = {"-c", "echo hi"};
  EXPECT_EQ(Build(image, o)["process"]["args"], json({"/bin/sh", "-c", "echo hi"}));
  // --entrypoint "" clears it: the arguments are the whole command.
  o = Options();
  o.entrypoint = "";
  o.args = {"echo", "hi"};
  EXPECT_EQ(Build(image, o)["process"]["args"], json({"echo", "hi"}));
  o.args.clear();
  EXPECT_EQ(BuildError(image, o), "no command specified");
  EXPECT_EQ(BuildError(json(), Options()), "no command specified");
  EXPECT_EQ(BuildError({{"config", {{"Cmd", nullptr}}}}, Options()), "no command specified");
  // Just the "config" object works too.
  EXPECT_EQ(Build(image["config"], Options())["process"]["args"], json({"/entry.sh", "--serve"}));
  EXPECT_EQ(BuildError({{"config", {{"Cmd", "sh"}}}}, Options()),
            "image config: Cmd is not a list");
}

TEST(BuildSpec, Environment) {
  const json image = {
      {"config", {{"Env", {"PATH=/opt/bin", "LANG=C", "SECRET=image"}}, {"Cmd", {"sh"}}}}};
  char tmpl[] = "/tmp/spec_test_env.XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(tmpl) << "# comment\nFROM_FILE=1\nLANG=fr_FR\n";
  ContainerOptions o = Options();
  o.env_files = {tmpl};
  o.env = {"LANG=en_US", "FROM_CALLER", "SECRET", "NOT_SET_ANYWHERE", "HOME=/data"};
  o.tty = true;
  o.hostname = "web";
  const json env = Build(image, o)["process"]["env"];
  EXPECT_EQ(env, json({"PATH=/opt/bin", "HOSTNAME=web", "TERM=xterm", "LANG=en_US", "FROM_FILE=1",
                       "FROM_CALLER=yes", "HOME=/data"}));
  unlink(tmpl);
  o.env_files = {"/nonexistent/x.env"};
  EXPECT_NE(BuildError(image, o).find("/nonexistent/x.env"), std::string::npos);
  o = Options();
  o.env = {"=oops"};
  EXPECT_EQ(BuildError(image, o), "invalid environment variable: =oops");
}

class RootfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/spec_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ASSERT_EQ(mkdir((root_ + "/etc").c_str(), 0755), 0);
    std::ofstream(root_ + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                            "app:x:1000:1000::/home/app:/bin/sh\n";
    std::ofstream(root_ + "/etc/group") << "root:x:0:\nwheel:x:10:app\nstaff:x:50:\n";
  }
  void TearDown() override { std::system(("rm -rf " + root_).c_str()); }
  std::string root_;
};

TEST_F(RootfsTest, UserNamesFromTheRootfs) {
  const json image = {{"config", {{"Cmd", {"id"}}, {"User", "app"}}}};
  ContainerOptions o = Options();
  o.rootfs = root_;
  json spec = Build(image, o);
  EXPECT_EQ(spec["process"]["user"],
            json::parse(R"({"uid":1000,"gid":1000,"additionalGids":[10]})"));
  EXPECT_EQ(spec["process"]["env"].back(), "HOME=/home/app");
  o.user = "app:staff";
  spec = Build(image, o);
  EXPECT_EQ(spec["process"]["user"], json::parse(R"({"uid":1000,"gid":50})"));
  o.user = "";  // -u "" is root, as the image's USER is overridden
  spec = Build(image, o);
  EXPECT_EQ(spec["process"]["user"], json::parse(R"({"uid":0,"gid":0})"));
  EXPECT_EQ(spec["process"]["env"].back(), "HOME=/root");
  o.user = "ghost";
  EXPECT_EQ(BuildError(image, o), "unable to find user ghost: no matching entries in passwd file");
}

TEST(BuildSpec, UserWithoutARootfsIsLeftToTheDaemon) {
  ContainerOptions o = Options();
  o.user = "1000:1000";
  EXPECT_EQ(Build(kBusybox, o)["process"]["user"],
            json::parse(R"({"uid":1000,"gid":1000,"username":"1000:1000"})"));
  o.user = "app";
  EXPECT_EQ(Build(kBusybox, o)["process"]["user"],
            json::parse(R"({"uid":0,"gid":0,"username":"app"})"));
  EXPECT_FALSE(absl::StrContains(Build(kBusybox, o)["process"]["env"].dump(), "HOME="));
}

TEST(BuildSpec, WorkingDirectory) {
  ContainerOptions o = Options();
  const json image = {{"config", {{"Cmd", {"sh"}}, {"WorkingDir", "/srv"}}}};
  EXPECT_EQ(Build(image, o)["process"]["cwd"], "/srv");
  o.workdir = "/a/../b/";
  EXPECT_EQ(Build(image, o)["process"]["cwd"], "/b");
  o.workdir = "rel";
  EXPECT_EQ(BuildError(image, o),
            "the working directory 'rel' is invalid, it needs to be an absolute path");
}

TEST(BuildSpec, CapabilitiesAndPrivileged) {
  ContainerOptions o = Options();
  o.cap_add = {"net_admin"};
  o.cap_drop = {"CAP_NET_RAW", "mknod"};
  const json caps = Build(kBusybox, o)["process"]["capabilities"]["bounding"];
  EXPECT_NE(std::find(caps.begin(), caps.end(), "CAP_NET_ADMIN"), caps.end());
  EXPECT_EQ(std::find(caps.begin(), caps.end(), "CAP_NET_RAW"), caps.end());
  EXPECT_EQ(std::find(caps.begin(), caps.end(), "CAP_MKNOD"), caps.end());
  EXPECT_EQ(caps.size(), 13u);
  o.cap_add = {"WARP_DRIVE"};
  EXPECT_EQ(BuildError(kBusybox, o), "unknown capability: \"CAP_WARP_DRIVE\"");

  o = Options();
  o.cap_add = {"ALL"};
  EXPECT_EQ(Build(kBusybox, o)["process"]["capabilities"]["bounding"].size(), 40u);

  o = Options();
  o.privileged = true;
  const json spec = Build(kBusybox, o);
  const json& all = spec["process"]["capabilities"]["effective"];
  EXPECT_EQ(all, json(CapabilitiesInMask(kHost.capability_bounding)));
  EXPECT_EQ(std::find(all.begin(), all.end(), "CAP_SYS_RESOURCE"), all.end());
  EXPECT_EQ(spec["linux"]["maskedPaths"], json::array());
  EXPECT_EQ(spec["linux"]["readonlyPaths"], json::array());
  EXPECT_EQ(spec["linux"]["resources"]["devices"],
            json::parse(R"([{"allow":true,"access":"rwm"}])"));
  EXPECT_EQ((*FindMount(spec, "/sys"))["options"], json({"nosuid", "noexec", "nodev"}));
}

TEST(BuildSpec, ReadOnlyTtyAndNoNewPrivileges) {
  ContainerOptions o = Options();
  o.read_only = true;
  o.tty = true;
  o.no_new_privileges = false;
  const json spec = Build(kBusybox, o);
  EXPECT_EQ(spec["root"]["readonly"], true);
  EXPECT_EQ(spec["process"]["terminal"], true);
  EXPECT_EQ(spec["process"]["noNewPrivileges"], false);
}

// The names a profile allows unconditionally.
Strings Allowed(const json& seccomp) {
  Strings out;
  for (const json& rule : seccomp["syscalls"]) {
    if (rule["action"] != "SCMP_ACT_ALLOW" || rule.contains("args")) continue;
    for (const json& n : rule["names"]) out.push_back(n);
  }
  return out;
}

bool Allows(const json& seccomp, const std::string& name) {
  const Strings a = Allowed(seccomp);
  return std::find(a.begin(), a.end(), name) != a.end();
}

TEST(BuildSpec, SeccompFollowsPrivilegedCapabilitiesAndSecurityOpt) {
  ContainerOptions o = Options();
  json seccomp = Build(kBusybox, o)["linux"]["seccomp"];
  EXPECT_EQ(seccomp["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_FALSE(Allows(seccomp, "mount"));
  EXPECT_FALSE(Allows(seccomp, "keyctl"));

  // --cap-add widens the profile with the calls the capability guards, as Docker's does.
  o.cap_add = {"SYS_ADMIN"};
  seccomp = Build(kBusybox, o)["linux"]["seccomp"];
  EXPECT_TRUE(Allows(seccomp, "mount"));
  EXPECT_TRUE(Allows(seccomp, "unshare"));
  EXPECT_FALSE(Allows(seccomp, "keyctl"));

  o = Options();
  o.privileged = true;
  EXPECT_FALSE(Build(kBusybox, o)["linux"].contains("seccomp"));

  for (const char* opt : {"seccomp=unconfined", "seccomp:unconfined"}) {
    o = Options();
    o.security_opt = {opt};
    EXPECT_FALSE(Build(kBusybox, o)["linux"].contains("seccomp")) << opt;
  }
}

TEST(BuildSpec, SecurityOptProfileFileNoNewPrivilegesAndSystemPaths) {
  char tmpl[] = "/tmp/berth-spec-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string file = std::string(tmpl) + "/profile.json";
  std::ofstream(file) << R"({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]})";
  ContainerOptions o = Options();
  o.security_opt = {"seccomp=" + file};
  EXPECT_EQ(Build(kBusybox, o)["linux"]["seccomp"],
            json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]})"));
  std::ofstream(file) << "not json";
  EXPECT_EQ(BuildError(kBusybox, o), "seccomp profile " + file + ": not valid JSON");
  o.security_opt = {"seccomp=" + std::string(tmpl) + "/missing.json"};
  EXPECT_TRUE(absl::StartsWith(BuildError(kBusybox, o), "opening seccomp profile"));
  std::remove(file.c_str());
  ::rmdir(tmpl);

  o = Options();
  o.security_opt = {"no-new-privileges=false"};
  EXPECT_EQ(Build(kBusybox, o)["process"]["noNewPrivileges"], false);
  o.no_new_privileges = false;
  o.security_opt = {"no-new-privileges"};
  EXPECT_EQ(Build(kBusybox, o)["process"]["noNewPrivileges"], true);

  o = Options();
  o.security_opt = {"systempaths=unconfined", "apparmor=unconfined", "label=disable"};
  json spec = Build(kBusybox, o);
  EXPECT_EQ(spec["linux"]["maskedPaths"], json::array());
  EXPECT_EQ(spec["linux"]["readonlyPaths"], json::array());
  EXPECT_FALSE(spec["process"].contains("apparmorProfile"));
  EXPECT_TRUE(spec["linux"].contains("seccomp"));  // systempaths leaves seccomp alone
  o.security_opt = {"apparmor=docker-default"};
  EXPECT_EQ(Build(kBusybox, o)["process"]["apparmorProfile"], "docker-default");

  for (const char* bad : {"seccomp", "no-new-privileges=maybe", "systempaths=confined",
                          "label=type:svirt_t", "warp=9", ""}) {
    o.security_opt = {bad};
    EXPECT_TRUE(absl::StartsWith(BuildError(kBusybox, o),
                                 absl::StrCat("invalid --security-opt \"", bad, "\"")))
        << bad << ": " << BuildError(kBusybox, o);
  }
}

TEST(BuildSpec, Resources) {
  ContainerOptions o = Options();
  o.memory = "512m";
  o.cpus = "1.5";
  o.pids_limit = 100;
  json r = Build(kBusybox, o)["linux"]["resources"];
  EXPECT_EQ(r["memory"]["limit"], 512 << 20);
  EXPECT_EQ(r["cpu"]["quota"], 150000);
  EXPECT_EQ(r["cpu"]["period"], 100000);
  EXPECT_EQ(r["pids"]["limit"], 100);
  o.pids_limit = -1;
  o.memory = "0";
  o.cpus = "0";
  r = Build(kBusybox, o)["linux"]["resources"];
  EXPECT_FALSE(r.contains("pids"));
  EXPECT_FALSE(r.contains("memory"));
  EXPECT_FALSE(r.contains("cpu"));

  o = Options();
  o.memory = "1k";
  EXPECT_EQ(BuildError(kBusybox, o), "Minimum memory limit allowed is 6MB");
  o.memory = "lots";
  EXPECT_EQ(BuildError(kBusybox, o),
            "invalid argument \"lots\" for \"-m, --memory\" flag: invalid size: 'lots'");
  o = Options();
  o.cpus = "3";
  EXPECT_EQ(BuildError(kBusybox, o),
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
  o.cpus = "0.001";
  EXPECT_NE(BuildError(kBusybox, o).find("Range of CPUs"), std::string::npos);
  o.cpus = "x";
  EXPECT_EQ(BuildError(kBusybox, o),
            "invalid argument \"x\" for \"--cpus\" flag: failed to parse x as a rational number");
}

TEST(BuildSpec, Tmpfs) {
  ContainerOptions o = Options();
  o.tmpfs = {"/run:size=64m", "/dev/shm:size=1g,exec"};
  const json spec = Build(kBusybox, o);
  EXPECT_EQ(Destinations(spec), Strings({"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup",
                                         "/dev/mqueue", "/run", "/dev/shm"}));
  EXPECT_EQ(*FindMount(spec, "/run"), json::parse(R"({"destination":"/run","type":"tmpfs",
      "source":"tmpfs","options":["noexec","nosuid","nodev","rprivate","size=64m"]})"));
  EXPECT_EQ((*FindMount(spec, "/dev/shm"))["options"],
            json({"nosuid", "nodev", "rprivate", "size=1g", "exec"}));
  o.tmpfs = {"run"};
  EXPECT_EQ(BuildError(kBusybox, o), "invalid mount path: 'run' mount path must be absolute");
}

TEST(BuildSpec, IdsNamespacesAndHostnames) {
  ContainerOptions o = Options();
  o.ns = "team-a";
  EXPECT_EQ(Build(kBusybox, o)["linux"]["cgroupsPath"], "/berth/team-a/" + kId);
  o.ns = "../x";
  EXPECT_NE(BuildError(kBusybox, o), "OK");
  o = Options();
  o.id = "";
  EXPECT_EQ(BuildError(kBusybox, o), "invalid container id \"\"");
  o.id = "../../etc";
  EXPECT_NE(BuildError(kBusybox, o), "OK");
  o = Options();
  o.hostname = std::string(65, 'h');
  EXPECT_NE(BuildError(kBusybox, o).find("longer than 64"), std::string::npos);
}

TEST(BuildSpec, RestartAndRmConflict) {
  ContainerOptions o = Options();
  o.auto_remove = true;
  o.restart = *ParseRestartPolicy("always");
  EXPECT_EQ(BuildError(kBusybox, o), "Conflicting options: --restart and --rm");
  EXPECT_FALSE(ContainerLabels(kBusybox, o).ok());
}

TEST(ContainerLabels, ImageUserAndBerthKeys) {
  const json image = {
      {"config",
       {{"Cmd", {"sh"}},
        {"StopSignal", "SIGQUIT"},
        {"Labels", {{"maintainer", "me"}, {"tier", "image"}, {"berth.io/exit-status", "3"}}}}}};
  ContainerOptions o = Options();
  o.labels = {{"tier", "user"}, {"berth.io/restart-policy", "always"}};
  absl::StatusOr<std::map<std::string, std::string>> labels = ContainerLabels(image, o);
  ASSERT_TRUE(labels.ok()) << labels.status();
  // The user's berth.io/restart-policy does not count: --restart (here absent: "no") does.
  EXPECT_EQ(*labels, (std::map<std::string, std::string>{{"maintainer", "me"},
                                                         {"tier", "user"},
                                                         {kLabelRestartPolicy, "no"},
                                                         {kLabelStopSignal, "SIGQUIT"}}));
  o.restart = *ParseRestartPolicy("on-failure:3");
  o.stop_signal = "9";
  o.stop_timeout = 30;
  labels = ContainerLabels(image, o);
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(labels->at(kLabelRestartPolicy), "on-failure:3");
  EXPECT_EQ(labels->at(kLabelStopSignal), "SIGKILL");
  EXPECT_EQ(labels->at(kLabelStopTimeout), "30");

  o.stop_signal = "SIGNOPE";
  EXPECT_EQ(ContainerLabels(image, o).status().message(),
            "invalid argument \"SIGNOPE\" for \"--stop-signal\" flag: unknown signal \"SIGNOPE\"");
  EXPECT_EQ(BuildError(image, o),
            "invalid argument \"SIGNOPE\" for \"--stop-signal\" flag: unknown signal \"SIGNOPE\"");
  o.stop_signal = "";
  EXPECT_FALSE(ContainerLabels({{"config", {{"StopSignal", "BOGUS"}}}}, o).ok());
  EXPECT_EQ(*ContainerLabels(json(), Options()),
            (std::map<std::string, std::string>{{kLabelRestartPolicy, "no"}}));
}

TEST(HostFacts, CurrentReadsThisProcess) {
  const HostFacts h = HostFacts::Current();
  EXPECT_GT(h.nofile_hard, 0u);
  EXPECT_GE(h.cpus, 1);
  EXPECT_NE(h.capability_bounding, 0u);
}

}  // namespace
}  // namespace berth::ctl
