#include "e2e/reliability.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"

namespace berth::e2e {
namespace {

namespace spb = berth::services::snapshots::v1;

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
  }
  return out;
}

std::vector<std::string> CommandLine(const std::string& pid) {
  std::string raw = ReadAll("/proc/" + pid + "/cmdline");
  if (!raw.empty() && raw.back() == '\0') raw.pop_back();
  if (raw.empty()) return {};
  return absl::StrSplit(raw, '\0');
}

std::string Base(const std::string& p) {
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// mountinfo writes a space in a path as \040.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct Mount {
  std::string point, fstype;
};

std::vector<Mount> MountTable() {
  std::vector<Mount> out;
  for (absl::string_view line : absl::StrSplit(ReadAll("/proc/self/mountinfo"), '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash + 1 == f.end()) continue;
    out.push_back({Unescape(f[4]), *(dash + 1)});
  }
  return out;
}

}  // namespace

int EnvInt(const char* name, int def) {
  const char* v = getenv(name);
  int n = 0;
  return v != nullptr && absl::SimpleAtoi(v, &n) ? n : def;
}

bool Alive(pid_t pid) {
  const std::string stat = ReadAll(absl::StrCat("/proc/", pid, "/stat"));
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

std::string Cgroup2Mount() {
  std::string found;
  for (const Mount& m : MountTable()) {
    if (m.fstype == "cgroup2") found = m.point;
  }
  return found;
}

std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> out;
  for (const Mount& m : MountTable()) {
    if (absl::StartsWith(m.point, dir + "/")) out.push_back(m.point);
  }
  return out;
}

std::vector<pid_t> ShimsUnder(const std::string& state) {
  std::vector<pid_t> out;
  for (const std::string& name : Entries("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(name, &pid)) continue;
    std::vector<std::string> argv = CommandLine(name);
    if (argv.empty() || Base(argv[0]) != "berth-shim" || !Alive(pid)) continue;
    for (size_t i = 1; i + 1 < argv.size(); ++i) {
      if (argv[i] == "--state" && absl::StartsWith(argv[i + 1], state + "/")) out.push_back(pid);
    }
  }
  return out;
}

namespace {

EngineOptions ReliabilityOptions(const std::string& tag, CliDaemonOptions options) {
  // The runtimes go on under the Engine's own runtimes: (berth-runtime), which its config ends.
  std::string config;
  for (const auto& [name, path] : options.runtimes) {
    absl::StrAppend(&config, "  ", name, ": ", path, "\n");
  }
  return {.prefix = "berth-rel",
          .config = config + options.config,
          .flags = std::move(options.flags),
          .ns = absl::StrCat(tag, "-", getpid())};
}

}  // namespace

CliDaemon::CliDaemon(const std::string& tag, CliDaemonOptions options)
    : Engine(ReliabilityOptions(tag, std::move(options))) {}

std::string CliDaemon::MakeBlobImage(const std::string& name, int extra_mib) const {
  std::vector<std::string> flags;
  if (extra_mib > 0) {
    const std::string blob = Archive(name) + ".blob";
    RunCommand({"/bin/dd", "if=/dev/urandom", "of=" + blob, "bs=1M",
                absl::StrCat("count=", extra_mib), "status=none"});
    flags = {"--add", blob + ":/blob"};
  }
  return MakeImage(name, flags).exit_code == 0 ? Archive(name) : "";
}

pid_t CliDaemon::DaemonPid() const {
  for (const std::string& name : Entries("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(name, &pid)) continue;
    std::vector<std::string> argv = CommandLine(name);
    if (argv.empty() || Base(argv[0]) != "berthd") continue;
    if (std::find(argv.begin(), argv.end(), root()) != argv.end() && Alive(pid)) return pid;
  }
  return 0;
}

std::string HostCounts::Describe() const {
  return absl::StrCat("fds ", fds, ", mounts ", mounts, ", cgroups ", cgroups, ", shims ", shims,
                      ", active snapshots ", snapshots, ", veths ", veths);
}

HostCounts Count(const CliDaemon& d) {
  HostCounts c;
  if (pid_t pid = d.DaemonPid())
    c.fds = static_cast<int>(Entries(absl::StrCat("/proc/", pid, "/fd")).size());
  c.mounts = static_cast<int>(MountsUnder(d.root()).size() + MountsUnder(d.state()).size());
  if (const std::string cg = Cgroup2Mount(); !cg.empty()) {
    for (const std::string& e : Entries(cg + "/berth/" + d.ns())) {
      if (!absl::StartsWith(e, "cgroup.") && e.find('.') == std::string::npos) ++c.cgroups;
    }
  }
  c.shims = static_cast<int>(ShimsUnder(d.state()).size());
  auto stub = spb::Snapshots::NewStub(d.Channel());
  for (const char* snapshotter : {"overlayfs", "native"}) {
    spb::ListSnapshotsRequest req;
    req.set_snapshotter(snapshotter);
    auto ctx = TestDaemon::Context(d.ns());
    auto stream = stub->List(ctx.get(), req);
    spb::ListSnapshotsResponse resp;
    while (stream->Read(&resp)) {
      for (const spb::Info& i : resp.info()) {
        if (i.kind() == spb::ACTIVE) ++c.snapshots;
      }
    }
    stream->Finish();
  }
  for (const std::string& e : Entries("/sys/class/net")) {
    if (absl::StartsWith(e, "veth")) ++c.veths;
  }
  return c;
}

}  // namespace berth::e2e
