#include "ctl/container/spec.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/capabilities.h"
#include "common/namespace.h"
#include "common/path.h"
#include "common/signal.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/user.h"
#include "ctl/container/capabilities.h"
#include "ctl/container/labels.h"
#include "ctl/container/names.h"
#include "ctl/container/run_flags.h"
#include "ctl/container/seccomp_default.h"

namespace berth::ctl {
namespace {

using json = nlohmann::json;

constexpr uint64_t kNofileSoft = 1024;
constexpr uint64_t kNofileHard = 1048576;
constexpr int64_t kMinMemory = 6 * 1024 * 1024;  // Docker's linuxMinMemory
constexpr int64_t kCpuPeriod = 100000;           // microseconds, as Docker's --cpus

// The "config" object of an image config document (or the object itself, if given that).
const json& ImageConfigOf(const json& doc) {
  static const json* const kEmpty = new json(json::object());
  if (!doc.is_object()) return *kEmpty;
  if (auto it = doc.find("config"); it != doc.end()) return it->is_object() ? *it : *kEmpty;
  return doc;
}

absl::StatusOr<std::vector<std::string>> StringList(const json& cfg, const char* key) {
  std::vector<std::string> out;
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return out;
  if (!it->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("image config: ", key, " is not a list"));
  }
  for (const json& v : *it) {
    if (!v.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("image config: ", key, " holds a non-string value"));
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::string StringField(const json& cfg, const char* key) {
  auto it = cfg.find(key);
  return it != cfg.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::Status FlagError(absl::string_view value, absl::string_view flag, const absl::Status& st) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid argument \"", value, "\" for \"", flag, "\" flag: ", st.message()));
}

// Checks shared by BuildSpec and ContainerLabels.
absl::Status CheckOptions(const ContainerOptions& o) {
  if (o.auto_remove && o.restart.mode != RestartPolicy::Mode::kNo) {
    return absl::InvalidArgumentError("Conflicting options: --restart and --rm");
  }
  if (!o.stop_signal.empty()) {
    absl::StatusOr<int> sig = ParseSignal(o.stop_signal);
    if (!sig.ok()) return FlagError(o.stop_signal, "--stop-signal", sig.status());
  }
  return absl::OkStatus();
}

absl::Status CheckId(const std::string& id) {
  // It becomes a cgroup directory name: no separators, nothing that climbs.
  const bool ok =
      !id.empty() && id != "." && id != ".." && std::all_of(id.begin(), id.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
      });
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("invalid container id \"", id, "\""));
  return absl::OkStatus();
}

json Mount(const char* destination, const char* type, const char* source,
           std::vector<std::string> options) {
  return json{{"destination", destination},
              {"type", type},
              {"source", source},
              {"options", std::move(options)}};
}

// containerd's and Docker's default mounts; /dev/shm at Docker's default 64 MiB.
std::vector<json> DefaultMounts(bool privileged) {
  std::vector<std::string> sys = {"nosuid", "noexec", "nodev"};
  if (!privileged) sys.push_back("ro");  // Docker gives a privileged container /sys read-write
  return {
      Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      Mount("/sys", "sysfs", "sysfs", sys),
      Mount("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}),
      Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
  };
}

absl::StatusOr<std::vector<std::string>> Command(const json& cfg, const ContainerOptions& o) {
  std::vector<std::string> entrypoint, cmd;
  if (o.entrypoint.has_value()) {
    if (!o.entrypoint->empty()) entrypoint = {*o.entrypoint};
  } else {
    ASSIGN_OR_RETURN(entrypoint, StringList(cfg, "Entrypoint"));
  }
  // As Docker: an --entrypoint given on the command line also drops the image's Cmd.
  if (!o.args.empty()) {
    cmd = o.args;
  } else if (!o.entrypoint.has_value()) {
    ASSIGN_OR_RETURN(cmd, StringList(cfg, "Cmd"));
  }
  entrypoint.insert(entrypoint.end(), cmd.begin(), cmd.end());
  if (entrypoint.empty()) return absl::InvalidArgumentError("no command specified");
  return entrypoint;
}

absl::StatusOr<json> Resources(const ContainerOptions& o, const HostFacts& host) {
  json r = json::object();
  r["devices"] = json::array({{{"allow", o.privileged}, {"access", "rwm"}}});
  if (!o.memory.empty()) {
    absl::StatusOr<int64_t> bytes = ParseMemoryBytes(o.memory);
    if (!bytes.ok()) return FlagError(o.memory, "-m, --memory", bytes.status());
    if (*bytes > 0 && *bytes < kMinMemory) {
      return absl::InvalidArgumentError("Minimum memory limit allowed is 6MB");
    }
    if (*bytes > 0) r["memory"] = {{"limit", *bytes}};
  }
  if (!o.cpus.empty()) {
    absl::StatusOr<int64_t> nano = ParseNanoCpus(o.cpus);
    if (!nano.ok()) return FlagError(o.cpus, "--cpus", nano.status());
    if (*nano > 0) {
      if (*nano < 10'000'000 || *nano > int64_t{host.cpus} * 1'000'000'000) {
        return absl::InvalidArgumentError(absl::StrCat("Range of CPUs is from 0.01 to ", host.cpus,
                                                       ".00, as there are only ", host.cpus,
                                                       " CPUs available"));
      }
      r["cpu"] = {{"quota", *nano * kCpuPeriod / 1'000'000'000}, {"period", kCpuPeriod}};
    }
  }
  if (o.pids_limit.has_value() && *o.pids_limit > 0) r["pids"] = {{"limit", *o.pids_limit}};
  return r;
}

// --security-opt values, parsed.
struct SecurityOpts {
  enum class Seccomp { kDefault, kUnconfined, kFile };
  Seccomp seccomp = Seccomp::kDefault;
  std::string seccomp_file;
  absl::optional<bool> no_new_privileges;
  bool systempaths_unconfined = false;
  std::string apparmor;  // "" or "unconfined": none
};

absl::StatusOr<SecurityOpts> ParseSecurityOpts(const std::vector<std::string>& opts) {
  SecurityOpts out;
  for (const std::string& opt : opts) {
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid --security-opt \"", opt, "\": ", why));
    };
    // Docker takes KEY=VALUE, and the older KEY:VALUE.
    const size_t sep = opt.find_first_of("=:");
    const std::string key = opt.substr(0, sep);
    const std::string value = sep == std::string::npos ? "" : opt.substr(sep + 1);
    if (key == "no-new-privileges") {
      if (value.empty() || value == "true") {
        out.no_new_privileges = true;
      } else if (value == "false") {
        out.no_new_privileges = false;
      } else {
        return bad("no-new-privileges takes true or false");
      }
    } else if (key == "seccomp") {
      if (value.empty()) return bad("seccomp needs \"unconfined\" or a profile file");
      if (value == "unconfined") {
        out.seccomp = SecurityOpts::Seccomp::kUnconfined;
      } else {
        out.seccomp = SecurityOpts::Seccomp::kFile;
        out.seccomp_file = value;
      }
    } else if (key == "systempaths") {
      if (value != "unconfined") return bad("systempaths takes only \"unconfined\"");
      out.systempaths_unconfined = true;
    } else if (key == "apparmor") {
      if (value.empty()) return bad("apparmor needs a profile name or \"unconfined\"");
      out.apparmor = value == "unconfined" ? "" : value;
    } else if (key == "label") {
      // SELinux: berth applies no labels, so only turning labelling off is meaningful.
      if (value != "disable") return bad("berth does not apply SELinux labels; only label=disable");
    } else {
      return bad(
          "expected seccomp=, no-new-privileges, systempaths=unconfined, apparmor= or label=");
    }
  }
  return out;
}

// linux.seccomp for the container, or null for none.
absl::StatusOr<json> SeccompFor(const SecurityOpts& sec, bool privileged,
                                const std::vector<std::string>& caps) {
  if (privileged || sec.seccomp == SecurityOpts::Seccomp::kUnconfined) return json();
  if (sec.seccomp == SecurityOpts::Seccomp::kDefault) return DefaultSeccompProfile(caps);
  absl::StatusOr<std::string> text = sys::ReadFile(sec.seccomp_file);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("opening seccomp profile (", sec.seccomp_file,
                                                   ") failed: ", text.status().message()));
  }
  json profile = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (profile.is_discarded()) {
    return absl::InvalidArgumentError(
        absl::StrCat("seccomp profile ", sec.seccomp_file, ": not valid JSON"));
  }
  absl::StatusOr<json> out = SeccompProfileFromFile(profile, caps);
  if (!out.ok()) return Annotate(out.status(), sec.seccomp_file);
  return out;
}

absl::StatusOr<std::vector<std::string>> UserEnv(const ContainerOptions& o) {
  const EnvLookup lookup = o.lookup_env ? o.lookup_env : ProcessEnvironment();
  std::vector<std::string> out;
  for (const std::string& file : o.env_files) {
    ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadEnvFile(file, lookup));
    out.insert(out.end(), lines.begin(), lines.end());
  }
  for (const std::string& e : o.env) {
    ASSIGN_OR_RETURN(std::string v, ResolveEnvFlag(e, lookup));
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

HostFacts HostFacts::Current() {
  HostFacts h;
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY) {
    h.nofile_hard = rl.rlim_max;
  }
  if (absl::StatusOr<std::string> status = sys::ReadFile("/proc/self/status"); status.ok()) {
    for (absl::string_view line : absl::StrSplit(*status, '\n')) {
      if (absl::ConsumePrefix(&line, "CapBnd:")) {
        uint64_t mask = 0;
        if (absl::SimpleHexAtoi(absl::StripAsciiWhitespace(line), &mask)) {
          h.capability_bounding = mask;
        }
      }
    }
  }
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) {
    h.cpus = CPU_COUNT(&set);
  } else if (const long n = ::sysconf(_SC_NPROCESSORS_ONLN); n > 0) {
    h.cpus = static_cast<int>(n);
  }
  return h;
}

const std::vector<std::string>& DefaultMaskedPaths() {
  static const std::vector<std::string>* const kPaths = new std::vector<std::string>{
      "/proc/asound",
      "/proc/acpi",
      "/proc/kcore",
      "/proc/keys",
      "/proc/latency_stats",
      "/proc/timer_list",
      "/proc/timer_stats",
      "/proc/sched_debug",
      "/proc/scsi",
      "/sys/firmware",
      "/sys/devices/virtual/powercap",
  };
  return *kPaths;
}

const std::vector<std::string>& DefaultReadonlyPaths() {
  static const std::vector<std::string>* const kPaths = new std::vector<std::string>{
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
  };
  return *kPaths;
}

absl::StatusOr<json> BuildSpec(const json& image_config, const ContainerOptions& o,
                               const HostFacts& host) {
  RETURN_IF_ERROR(CheckOptions(o));
  RETURN_IF_ERROR(CheckId(o.id));
  RETURN_IF_ERROR(ValidateNamespace(o.ns));
  const json& cfg = ImageConfigOf(image_config);
  ASSIGN_OR_RETURN(std::vector<std::string> args, Command(cfg, o));

  const std::string hostname = o.hostname.empty() ? ShortContainerId(o.id) : o.hostname;
  if (hostname.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid hostname \"", hostname, "\": longer than 64 characters"));
  }

  // Environment: the daemon's defaults, overridden by the image's ENV, overridden by the
  // user's --env-file and -e.
  std::vector<std::string> env = {kDefaultPath, absl::StrCat("HOSTNAME=", hostname)};
  if (o.tty) env.push_back("TERM=xterm");
  ASSIGN_OR_RETURN(std::vector<std::string> image_env, StringList(cfg, "Env"));
  env = MergeEnv(std::move(env), image_env);
  ASSIGN_OR_RETURN(std::vector<std::string> user_env, UserEnv(o));
  env = MergeEnv(std::move(env), user_env);

  // User: names, supplementary groups and HOME come from the rootfs's passwd and group. With
  // the rootfs at hand they are resolved here; otherwise (the CLI talks to the daemon over
  // its API) the daemon resolves process.user.username against the mounted rootfs when it
  // creates the task, and checks here are limited to the syntax.
  const std::string user_spec = o.user.value_or(StringField(cfg, "User"));
  ExecUser user;
  const bool resolve_here = !o.rootfs.empty();
  if (resolve_here) {
    ASSIGN_OR_RETURN(UserFiles files, ReadUserFiles(o.rootfs));
    ASSIGN_OR_RETURN(user, ResolveUser(user_spec, files));
    if (!HasEnv(env, "HOME")) env.push_back(absl::StrCat("HOME=", user.home));
  } else if (absl::StatusOr<ExecUser> numeric = ResolveUser(user_spec, UserFiles{}); numeric.ok()) {
    user = *numeric;
  }

  std::string cwd = !o.workdir.empty() ? o.workdir : StringField(cfg, "WorkingDir");
  if (cwd.empty()) cwd = "/";
  if (!path::IsAbsolute(cwd)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the working directory '", cwd, "' is invalid, it needs to be an absolute path"));
  }
  cwd = path::Clean(cwd);

  const std::vector<std::string> all_caps = CapabilitiesInMask(host.capability_bounding);
  std::vector<std::string> caps = all_caps;
  if (!o.privileged) {
    ASSIGN_OR_RETURN(caps,
                     TweakCapabilities(DefaultCapabilities(), o.cap_add, o.cap_drop, all_caps));
  }

  ASSIGN_OR_RETURN(SecurityOpts sec, ParseSecurityOpts(o.security_opt));
  ASSIGN_OR_RETURN(json seccomp, SeccompFor(sec, o.privileged, caps));

  const uint64_t nofile_hard = std::min(kNofileHard, host.nofile_hard);
  json process = {
      {"terminal", o.tty},
      {"user", {{"uid", user.uid}, {"gid", user.gid}}},
      {"args", args},
      {"env", env},
      {"cwd", cwd},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"},
                                {"hard", nofile_hard},
                                {"soft", std::min(kNofileSoft, nofile_hard)}}})},
      {"noNewPrivileges", sec.no_new_privileges.value_or(o.no_new_privileges)},
  };
  if (!sec.apparmor.empty()) process["apparmorProfile"] = sec.apparmor;
  if (!user.additional_gids.empty()) process["user"]["additionalGids"] = user.additional_gids;
  if (!resolve_here) process["user"]["username"] = user_spec.empty() ? "0" : user_spec;

  // Mounts: the defaults, then --tmpfs, which replaces a default at the same place.
  std::vector<json> mounts = DefaultMounts(o.privileged);
  for (const std::string& flag : o.tmpfs) {
    ASSIGN_OR_RETURN(TmpfsMount t, ParseTmpfs(flag));
    mounts.erase(std::remove_if(mounts.begin(), mounts.end(),
                                [&](const json& m) { return m["destination"] == t.destination; }),
                 mounts.end());
    mounts.push_back(json{{"destination", t.destination},
                          {"type", "tmpfs"},
                          {"source", "tmpfs"},
                          {"options", t.options}});
  }

  ASSIGN_OR_RETURN(json resources, Resources(o, host));
  json linux = {
      {"namespaces",
       json::array({{{"type", "pid"}},
                    {{"type", "ipc"}},
                    {{"type", "uts"}},
                    {{"type", "mount"}},
                    // The daemon wires its interfaces (or drops it for --network host).
                    {{"type", "network"}},
                    // Docker's default on cgroup v2: the container's cgroup is its root.
                    {{"type", "cgroup"}}})},
      {"cgroupsPath", absl::StrCat("/berth/", o.ns, "/", o.id)},
      {"resources", std::move(resources)},
      {"maskedPaths", o.privileged || sec.systempaths_unconfined ? std::vector<std::string>{}
                                                                 : DefaultMaskedPaths()},
      {"readonlyPaths", o.privileged || sec.systempaths_unconfined ? std::vector<std::string>{}
                                                                   : DefaultReadonlyPaths()},
  };
  if (!seccomp.is_null()) linux["seccomp"] = std::move(seccomp);

  return json{
      {"ociVersion", "1.0.2"},
      {"process", std::move(process)},
      {"root", {{"path", "rootfs"}, {"readonly", o.read_only}}},
      {"hostname", hostname},
      {"mounts", std::move(mounts)},
      {"linux", std::move(linux)},
  };
}

absl::StatusOr<std::map<std::string, std::string>> ContainerLabels(const json& image_config,
                                                                   const ContainerOptions& o) {
  RETURN_IF_ERROR(CheckOptions(o));
  const json& cfg = ImageConfigOf(image_config);
  std::map<std::string, std::string> labels;
  if (auto it = cfg.find("Labels"); it != cfg.end() && it->is_object()) {
    for (auto l = it->begin(); l != it->end(); ++l) {
      if (l.value().is_string()) labels[l.key()] = l.value().get<std::string>();
    }
  }
  for (const auto& [k, v] : o.labels) labels[k] = v;
  // berth's own keys say what this run asked for; stale copies (from the image or -l) go.
  for (const char* key :
       {kLabelRestartPolicy, kLabelStopSignal, kLabelStopTimeout, kLabelManuallyStopped,
        kLabelExitStatus, kLabelExitedAt, kLabelStartedAt}) {
    labels.erase(key);
  }
  // Always, "no" included: the daemon manages (and auto-removes) only labelled containers.
  labels[kLabelRestartPolicy] = o.restart.ToString();
  const std::string stop_signal =
      !o.stop_signal.empty() ? o.stop_signal : StringField(cfg, "StopSignal");
  if (!stop_signal.empty()) {
    absl::StatusOr<int> sig = ParseSignal(stop_signal);
    if (!sig.ok()) return Annotate(sig.status(), "image config: StopSignal");
    labels[kLabelStopSignal] = SignalName(*sig);
  }
  if (o.stop_timeout.has_value()) labels[kLabelStopTimeout] = absl::StrCat(*o.stop_timeout);
  return labels;
}

}  // namespace berth::ctl
