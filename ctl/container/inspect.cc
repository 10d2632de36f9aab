#include "ctl/container/inspect.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ctl/container/labels.h"
#include "ctl/container/restart_policy.h"
#include "ctl/image_format.h"

namespace berth::ctl {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// "true" on a container made with -i (ctl/container_api.h keeps the same key).
constexpr char kLabelOpenStdin[] = "berth.io/open-stdin";
// The volumes a container mounts, comma-separated (ctl/volume_api.h keeps the same key).
constexpr char kLabelVolumes[] = "berth.io/volumes";

std::string Label(const berth::services::containers::v1::Container& c, const std::string& key) {
  auto it = c.labels().find(key);
  return it == c.labels().end() ? "" : it->second;
}

const json& At(const json& j, std::initializer_list<const char*> path) {
  static const json kNull;
  const json* v = &j;
  for (const char* k : path) {
    if (!v->is_object()) return kNull;
    auto it = v->find(k);
    if (it == v->end()) return kNull;
    v = &*it;
  }
  return *v;
}

ojson StringsOrNull(const std::vector<std::string>& v) {
  return v.empty() ? ojson(nullptr) : ojson(v);
}

std::vector<std::string> Strings(const json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const json& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

int64_t Int(const json& j) {
  return j.is_number_integer()    ? j.get<int64_t>()
         : j.is_number_unsigned() ? static_cast<int64_t>(j.get<uint64_t>())
                                  : 0;
}

// The familiar name as `docker run busybox` records it: "busybox", "busybox:1.36".
std::string ConfigImage(const std::string& image) {
  RepoTag rt = SplitName(image);
  if (!rt.digest.empty()) return FamiliarName(image);
  return rt.tag == "latest" ? rt.repository : absl::StrCat(rt.repository, ":", rt.tag);
}

std::string User(const json& user) {
  if (!user.is_object()) return "";
  if (auto it = user.find("username"); it != user.end() && it->is_string()) {
    const std::string name = it->get<std::string>();
    return name == "0" ? "" : name;
  }
  const int64_t uid = Int(At(user, {"uid"})), gid = Int(At(user, {"gid"}));
  if (uid == 0 && gid == 0) return "";
  return absl::StrCat(uid, ":", gid);
}

// Docker's Mounts: volumes (bound from <root>/volumes/…/<name>/_data) and binds; tmpfs mounts
// are HostConfig.Tmpfs, and the defaults (/proc, /dev…) are not listed, as in Docker.
ojson Mounts(const json& spec, const std::string& volume_label) {
  std::vector<std::string> volumes;
  for (size_t start = 0; start < volume_label.size();) {
    const size_t comma = std::min(volume_label.find(',', start), volume_label.size());
    if (comma > start) volumes.push_back(volume_label.substr(start, comma - start));
    start = comma + 1;
  }
  ojson out = ojson::array();
  const json& mounts = At(spec, {"mounts"});
  if (!mounts.is_array()) return out;
  for (const json& m : mounts) {
    if (At(m, {"type"}) != json("bind")) continue;
    const std::vector<std::string> options = Strings(At(m, {"options"}));
    const auto has = [&](const char* o) {
      return std::find(options.begin(), options.end(), o) != options.end();
    };
    std::string propagation;
    for (const char* p : {"rprivate", "private", "rshared", "shared", "rslave", "slave"}) {
      if (has(p)) propagation = p;
    }
    const std::string source = At(m, {"source"}).is_string() ? m["source"].get<std::string>() : "";
    const std::string dest =
        At(m, {"destination"}).is_string() ? m["destination"].get<std::string>() : "";
    std::string name;
    if (const size_t slash = source.rfind('/');
        slash != std::string::npos && source.substr(slash + 1) == "_data" && slash > 0) {
      const size_t before = source.rfind('/', slash - 1);
      name = source.substr(before + 1, slash - before - 1);
      if (std::find(volumes.begin(), volumes.end(), name) == volumes.end()) name.clear();
    }
    if (!name.empty()) {
      out.push_back({{"Type", "volume"},
                     {"Name", name},
                     {"Source", source},
                     {"Destination", dest},
                     {"Driver", "local"},
                     {"Mode", ""},
                     {"RW", !has("ro")},
                     {"Propagation", ""}});
    } else {
      out.push_back({{"Type", "bind"},
                     {"Source", source},
                     {"Destination", dest},
                     {"Mode", ""},
                     {"RW", !has("ro")},
                     {"Propagation", propagation}});
    }
  }
  return out;
}

// Docker's NetworkSettings.Ports from the daemon's "127.0.0.1:8080->80/tcp, …":
// {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}.
ojson Ports(const std::string& published) {
  ojson out = ojson::object();
  size_t start = 0;
  while (start < published.size()) {
    size_t end = published.find(',', start);
    if (end == std::string::npos) end = published.size();
    std::string one = published.substr(start, end - start);
    start = end + 1;
    while (!one.empty() && one.front() == ' ') one.erase(0, 1);
    const size_t arrow = one.find("->");
    if (arrow == std::string::npos) continue;
    const std::string host = one.substr(0, arrow), inside = one.substr(arrow + 2);
    const size_t colon = host.rfind(':');
    if (colon == std::string::npos) continue;
    std::string ip = host.substr(0, colon);
    if (ip.size() > 1 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    if (!out.contains(inside)) out[inside] = ojson::array();
    out[inside].push_back({{"HostIp", ip}, {"HostPort", host.substr(colon + 1)}});
  }
  return out;
}

}  // namespace

std::string InspectTime(const absl::optional<absl::Time>& t) {
  return t.has_value() ? FormatRfc3339Nano(*t) : "0001-01-01T00:00:00Z";
}

ojson ContainerInspect(const InspectInput& in) {
  const auto& c = in.record;
  const json spec = json::parse(c.spec(), nullptr, /*allow_exceptions=*/false);
  const json& process = At(spec, {"process"});
  const std::vector<std::string> args = Strings(At(process, {"args"}));
  const bool running =
      in.state.status == ContainerStatus::kRunning || in.state.status == ContainerStatus::kPaused;

  // Entrypoint and Cmd: the spec has only their concatenation.
  const std::vector<std::string> image_entrypoint =
      Strings(At(in.image_config, {"config", "Entrypoint"}));
  std::vector<std::string> entrypoint, cmd = args;
  if (!image_entrypoint.empty() && args.size() >= image_entrypoint.size() &&
      std::equal(image_entrypoint.begin(), image_entrypoint.end(), args.begin())) {
    entrypoint = image_entrypoint;
    cmd.assign(args.begin() + static_cast<long>(image_entrypoint.size()), args.end());
  }

  std::map<std::string, std::string> user_labels;
  for (const auto& [k, v] : c.labels()) {
    if (!absl::StartsWith(k, "berth.io/")) user_labels[k] = v;
  }
  absl::StatusOr<RestartPolicy> policy = ParseRestartPolicy(Label(c, kLabelRestartPolicy));
  static const char* const kPolicyNames[] = {"no", "always", "on-failure", "unless-stopped"};
  int restarts = 0;
  if (!absl::SimpleAtoi(Label(c, kLabelRestartCount), &restarts)) restarts = 0;

  const json& resources = At(spec, {"linux", "resources"});
  const int64_t quota = Int(At(resources, {"cpu", "quota"}));
  const int64_t period = Int(At(resources, {"cpu", "period"}));
  const int64_t pids_limit = Int(At(resources, {"pids", "limit"}));
  const json& devices = At(resources, {"devices"});
  const bool privileged =
      devices.is_array() && !devices.empty() && At(devices[0], {"allow"}) == json(true);
  ojson tmpfs = ojson::object();
  if (const json& mounts = At(spec, {"mounts"}); mounts.is_array()) {
    for (const json& m : mounts) {
      const std::string dest =
          At(m, {"destination"}).is_string() ? m["destination"].get<std::string>() : "";
      if (At(m, {"type"}) != json("tmpfs") || dest == "/dev" || dest == "/dev/shm") continue;
      std::vector<std::string> opts = Strings(At(m, {"options"}));
      std::string joined;
      for (const std::string& o : opts) absl::StrAppend(&joined, joined.empty() ? "" : ",", o);
      tmpfs[dest] = joined;
    }
  }

  ojson stop_timeout = nullptr;
  if (int t = 0; absl::SimpleAtoi(Label(c, kLabelStopTimeout), &t)) stop_timeout = t;

  ojson config = {
      {"Hostname", At(spec, {"hostname"}).is_string() ? spec["hostname"].get<std::string>() : ""},
      {"Domainname", ""},
      {"User", User(At(process, {"user"}))},
      {"AttachStdin", false},
      {"AttachStdout", false},
      {"AttachStderr", false},
      {"Tty", At(process, {"terminal"}) == json(true)},
      {"OpenStdin", Label(c, kLabelOpenStdin) == "true"},
      {"StdinOnce", false},
      {"Env", StringsOrNull(Strings(At(process, {"env"})))},
      {"Cmd", StringsOrNull(cmd)},
      {"Image", ConfigImage(c.image())},
      {"Volumes", nullptr},
      {"WorkingDir", At(process, {"cwd"}).is_string() ? process["cwd"].get<std::string>() : ""},
      {"Entrypoint", StringsOrNull(entrypoint)},
      {"OnBuild", nullptr},
      {"Labels", user_labels},
  };
  if (const std::string sig = Label(c, kLabelStopSignal); !sig.empty()) config["StopSignal"] = sig;
  if (!stop_timeout.is_null()) config["StopTimeout"] = stop_timeout;

  return ojson{
      {"Id", c.id()},
      {"Created", FormatRfc3339Nano(absl::FromUnixSeconds(c.created_at().seconds()) +
                                    absl::Nanoseconds(c.created_at().nanos()))},
      {"Path", args.empty() ? "" : args[0]},
      {"Args", args.empty() ? std::vector<std::string>{}
                            : std::vector<std::string>(args.begin() + 1, args.end())},
      {"State",
       {{"Status", StateName(in.state.status)},
        {"Running", running},
        {"Paused", in.state.status == ContainerStatus::kPaused},
        {"Restarting", in.state.status == ContainerStatus::kRestarting},
        {"OOMKilled", Label(c, kLabelOomKilled) == "true"},
        {"Dead", in.state.status == ContainerStatus::kDead},
        {"Pid", running ? in.pid : 0},
        {"ExitCode", running ? 0 : in.state.exit_code},
        {"Error", ""},
        {"StartedAt", InspectTime(in.state.started_at)},
        {"FinishedAt", InspectTime(running ? absl::nullopt : in.state.finished_at)}}},
      {"Image", in.image_id},
      {"Name", "/" + c.name()},
      {"RestartCount", restarts},
      {"Driver", c.snapshotter()},
      {"Platform", "linux"},
      {"HostConfig",
       {{"LogConfig", {{"Type", "json-file"}, {"Config", ojson::object()}}},
        {"NetworkMode", Label(c, kLabelNetwork).empty() ? "default" : Label(c, kLabelNetwork)},
        {"RestartPolicy",
         {{"Name", policy.ok() ? kPolicyNames[static_cast<int>(policy->mode)] : "no"},
          {"MaximumRetryCount", policy.ok() ? policy->max_retries : 0}}},
        {"AutoRemove", c.auto_remove()},
        {"Runtime", c.runtime().name()},
        {"Privileged", privileged},
        {"ReadonlyRootfs", At(spec, {"root", "readonly"}) == json(true)},
        {"Tmpfs", tmpfs.empty() ? ojson(nullptr) : tmpfs},
        {"Memory", Int(At(resources, {"memory", "limit"}))},
        {"NanoCpus", period > 0 ? quota * 1'000'000'000 / period : 0},
        {"PidsLimit", pids_limit > 0 ? ojson(pids_limit) : ojson(nullptr)}}},
      {"GraphDriver", {{"Name", c.snapshotter()}, {"Data", {{"SnapshotKey", c.snapshot_key()}}}}},
      {"Mounts", Mounts(spec, Label(c, kLabelVolumes))},
      {"Config", std::move(config)},
      {"NetworkSettings",
       {{"IPAddress", ""},
        {"Ports", running ? Ports(Label(c, kLabelPublishedPorts)) : ojson::object()},
        {"Networks", ojson::object()}}},
  };
}

}  // namespace berth::ctl
