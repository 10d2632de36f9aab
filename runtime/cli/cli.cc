#include "runtime/cli/cli.h"

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/path.h"
#include "common/signal.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/version.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/introspect.h"
#include "runtime/cli/update.h"
#include "runtime/container.h"
#include "runtime/spec.h"
#include "spdlog/spdlog.h"

namespace berth::runtime::cli {
namespace {

constexpr char kDefaultRoot[] = "/run/berth/runtime";

struct Command {
  std::string help;
  std::string usage;  // positional arguments
  std::vector<FlagSpec> flags;
  std::function<absl::StatusOr<int>(StateStore&, const Flags&)> run;
};

absl::StatusOr<std::string> OneId(const Flags& f, size_t max_args = 1) {
  if (f.positional.empty()) return absl::InvalidArgumentError("a container id is required");
  if (f.positional.size() > max_args) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", f.positional[1], "\""));
  }
  return f.positional[0];
}

const std::vector<FlagSpec> kCreateFlags = {
    {{"bundle", "b"}, true, false, "path to the bundle (default: the current directory)"},
    {{"pid-file"}, true, false, "write the init's pid here"},
    {{"console-socket"}, true, false, "unix socket that receives the pty master"},
    {{"no-pivot"}, false, false, "use MS_MOVE and chroot instead of pivot_root"},
    {{"no-new-keyring"}, false, false, "keep the caller's session keyring"},
    {{"preserve-fds"}, true, false, "pass this many fds (from 3 up) to the container"},
    // Still passed by some callers; berth-runtime never makes itself a subreaper anyway.
    {{"no-subreaper"}, false, false, "(accepted for compatibility; no effect)"},
};

absl::StatusOr<CreateOptions> CreateOpts(const Flags& f) {
  CreateOptions o;
  ASSIGN_OR_RETURN(o.id, OneId(f));
  o.bundle = f.Get("bundle", ".");
  o.pid_file = f.Get("pid-file");
  o.console_socket = f.Get("console-socket");
  ASSIGN_OR_RETURN(o.no_pivot, f.GetBool("no-pivot"));
  ASSIGN_OR_RETURN(o.no_new_keyring, f.GetBool("no-new-keyring"));
  ASSIGN_OR_RETURN(o.preserve_fds, f.GetInt("preserve-fds", 0));
  return o;
}

absl::StatusOr<int> RunState(StateStore& store, const Flags& f) {
  ASSIGN_OR_RETURN(std::string id, OneId(f));
  ASSIGN_OR_RETURN(ContainerState s, store.Load(id));
  std::printf("%s\n", store.StateJson(s).c_str());
  return 0;
}

absl::StatusOr<int> RunList(StateStore& store, const Flags& f) {
  ASSIGN_OR_RETURN(std::vector<std::string> ids, store.List());
  ASSIGN_OR_RETURN(bool quiet, f.GetBool("quiet"));
  const std::string format = f.Get("format", "table");
  nlohmann::json all = nlohmann::json::array();
  if (!quiet && format == "table") std::printf("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n");
  for (const std::string& id : ids) {
    absl::StatusOr<ContainerState> s = store.Load(id);
    if (!s.ok()) continue;
    Status st = store.StatusOf(*s);
    int pid = st == Status::kStopped ? 0 : s->pid;
    if (quiet) {
      std::printf("%s\n", id.c_str());
    } else if (format == "json") {
      all.push_back({{"id", id},
                     {"pid", pid},
                     {"status", StatusName(st)},
                     {"bundle", s->bundle},
                     {"created", s->created},
                     {"owner", "root"}});
    } else {
      std::printf("%s\t%d\t%s\t%s\t%s\troot\n", id.c_str(), pid, StatusName(st), s->bundle.c_str(),
                  s->created.c_str());
    }
  }
  if (!quiet && format == "json") std::printf("%s\n", all.dump().c_str());
  return 0;
}

absl::StatusOr<int> RunEvents(StateStore& store, const Flags& f) {
  ASSIGN_OR_RETURN(std::string id, OneId(f));
  ASSIGN_OR_RETURN(bool once, f.GetBool("stats"));
  ASSIGN_OR_RETURN(int interval, f.GetInt("interval", 5));
  for (;;) {
    ASSIGN_OR_RETURN(ContainerState s, store.Load(id));
    if (store.StatusOf(s) == Status::kStopped) {
      return absl::FailedPreconditionError(absl::StrCat("container \"", id, "\" is stopped"));
    }
    nlohmann::json event = {{"type", "stats"}, {"id", id}, {"data", CgroupStats(s.cgroup_dir)}};
    std::printf("%s\n", event.dump().c_str());
    std::fflush(stdout);
    if (once) return 0;
    ::sleep(static_cast<unsigned>(interval > 0 ? interval : 1));
  }
}

absl::StatusOr<int> RunExec(StateStore& store, const Flags& f) {
  if (f.positional.empty()) return absl::InvalidArgumentError("a container id is required");
  ExecOptions o;
  o.id = f.positional[0];
  if (f.Has("process")) {
    ASSIGN_OR_RETURN(std::string text, sys::ReadFile(f.Get("process")));
    ASSIGN_OR_RETURN(o.process, ParseProcess(text));
  } else {
    // The container's own process is the template: its env, user and cwd, new args.
    ASSIGN_OR_RETURN(std::string config, store.LoadConfig(o.id));
    ASSIGN_OR_RETURN(Spec spec, ParseSpec(config));
    o.process = *spec.process;
    o.process.args.assign(f.positional.begin() + 1, f.positional.end());
    if (o.process.args.empty()) return absl::InvalidArgumentError("exec needs a command to run");
    ASSIGN_OR_RETURN(o.process.terminal, f.GetBool("tty"));
    o.process.console_size.reset();
    if (f.Has("cwd")) o.process.cwd = f.Get("cwd");
    for (const std::string& e : f.GetAll("env")) o.process.env.push_back(e);
    if (f.Has("user")) {
      std::vector<std::string> ug = absl::StrSplit(f.Get("user"), ':');
      if (!absl::SimpleAtoi(ug[0], &o.process.user.uid) ||
          (ug.size() > 1 && !absl::SimpleAtoi(ug[1], &o.process.user.gid))) {
        return absl::InvalidArgumentError(
            absl::StrCat("--user \"", f.Get("user"), "\": expected uid[:gid] as numbers"));
      }
    }
    for (const std::string& g : f.GetAll("additional-gids")) {
      uint32_t gid = 0;
      if (!absl::SimpleAtoi(g, &gid))
        return absl::InvalidArgumentError("--additional-gids: not a number");
      o.process.user.additional_gids.push_back(gid);
    }
    if (f.Has("no-new-privs")) o.process.no_new_privileges = true;
  }
  ASSIGN_OR_RETURN(o.detach, f.GetBool("detach"));
  o.pid_file = f.Get("pid-file");
  o.console_socket = f.Get("console-socket");
  ASSIGN_OR_RETURN(o.preserve_fds, f.GetInt("preserve-fds", 0));
  return Exec(store, o);
}

std::map<std::string, Command> Commands() {
  std::map<std::string, Command> c;
  c["create"] = {"create a container", "<container-id>", kCreateFlags,
                 [](StateStore& s, const Flags& f) -> absl::StatusOr<int> {
                   ASSIGN_OR_RETURN(CreateOptions o, CreateOpts(f));
                   RETURN_IF_ERROR(Create(s, o).status());
                   return 0;
                 }};
  std::vector<FlagSpec> run_flags = kCreateFlags;
  run_flags.push_back({{"detach", "d"}, false, false, "do not wait for the container"});
  run_flags.push_back({{"keep"}, false, false, "do not delete the container after it exits"});
  c["run"] = {"create and start a container, and wait for it", "<container-id>", run_flags,
              [](StateStore& s, const Flags& f) -> absl::StatusOr<int> {
                ASSIGN_OR_RETURN(CreateOptions o, CreateOpts(f));
                ASSIGN_OR_RETURN(bool detach, f.GetBool("detach"));
                ASSIGN_OR_RETURN(bool keep, f.GetBool("keep"));
                return Run(s, o, detach, keep);
              }};
  c["start"] = {"start a created container",
                "<container-id>",
                {},
                [](StateStore& s, const Flags& f) -> absl::StatusOr<int> {
                  ASSIGN_OR_RETURN(std::string id, OneId(f));
                  RETURN_IF_ERROR(Start(s, id));
                  return 0;
                }};
  c["state"] = {"print a container's state as JSON", "<container-id>", {}, RunState};
  c["kill"] = {"send a signal to a container's init (or all its processes)",
               "<container-id> [signal]",
               {{{"all", "a"}, false, false, "signal every process in the container"}},
               [](StateStore& s, const Flags& f) -> absl::StatusOr<int> {
                 ASSIGN_OR_RETURN(std::string id, OneId(f, 2));
                 ASSIGN_OR_RETURN(int sig,
                                  ParseSignal(f.positional.size() > 1 ? f.positional[1] : "TERM"));
                 ASSIGN_OR_RETURN(bool all, f.GetBool("all"));
                 RETURN_IF_ERROR(Kill(s, id, sig, all));
                 return 0;
               }};
  c["delete"] = {"delete a container and its resources",
                 "<container-id>",
                 {{{"force", "f"}, false, false, "kill it first if it is running"}},
                 [](StateStore& s, const Flags& f) -> absl::StatusOr<int> {
                   ASSIGN_OR_RETURN(std::string id, OneId(f));
                   ASSIGN_OR_RETURN(bool force, f.GetBool("force"));
                   RETURN_IF_ERROR(Delete(s, id, force));
                   return 0;
                 }};
  c["pause"] = {"freeze every process of a container",
                "<container-id>",
                {},
                [](StateStore& s, const Flags& f) -> absl::StatusOr<int> {
                  ASSIGN_OR_RETURN(std::string id, OneId(f));
                  RETURN_IF_ERROR(Pause(s, id));
                  return 0;
                }};
  c["resume"] = {"thaw a paused container",
                 "<container-id>",
                 {},
                 [](StateStore& s, const Flags& f) -> absl::StatusOr<int> {
                   ASSIGN_OR_RETURN(std::string id, OneId(f));
                   RETURN_IF_ERROR(Resume(s, id));
                   return 0;
                 }};
  c["update"] = {"change a container's resource limits", "<container-id>", UpdateFlags(),
                 RunUpdate};
  c["ps"] = {"list the processes of a container",
             "<container-id>",
             {{{"format", "f"}, true, false, "table or json"}},
             [](StateStore& s, const Flags& f) -> absl::StatusOr<int> {
               ASSIGN_OR_RETURN(std::string id, OneId(f));
               ASSIGN_OR_RETURN(std::vector<pid_t> pids, Pids(s, id));
               if (f.Get("format", "table") == "json") {
                 std::printf("%s\n", nlohmann::json(pids).dump().c_str());
               } else {
                 std::printf("PID\n");
                 for (pid_t p : pids) std::printf("%d\n", p);
               }
               return 0;
             }};
  c["list"] = {
      "list containers",
      "",
      {{{"format", "f"}, true, false, "table or json"}, {{"quiet", "q"}, false, false, "ids only"}},
      RunList};
  c["exec"] = {"run a process in a container",
               "<container-id> [command args...]",
               {{{"process", "p"}, true, false, "process.json to run"},
                {{"detach", "d"}, false, false, "do not wait for the process"},
                {{"pid-file"}, true, false, "write the process's pid here"},
                {{"tty", "t"}, false, false, "allocate a pseudo-terminal"},
                {{"console-socket"}, true, false, "unix socket that receives the pty master"},
                {{"cwd"}, true, false, "working directory"},
                {{"env", "e"}, true, true, "add an environment variable"},
                {{"user", "u"}, true, false, "uid[:gid]"},
                {{"additional-gids", "g"}, true, true, "an additional gid"},
                {{"no-new-privs"}, false, false, "set no_new_privs"},
                {{"preserve-fds"}, true, false, "pass this many fds (from 3 up)"},
                {{"no-subreaper"}, false, false, "(accepted for compatibility; no effect)"}},
               RunExec};
  c["spec"] = {"write a default config.json",
               "",
               {{{"bundle", "b"}, true, false, "where to write it"},
                {{"rootless"}, false, false, "(not supported)"}},
               [](StateStore&, const Flags& f) -> absl::StatusOr<int> {
                 if (f.Has("rootless"))
                   return absl::UnimplementedError("rootless specs are not supported");
                 std::string file = path::Join(f.Get("bundle", "."), "config.json");
                 if (sys::Exists(file)) {
                   return absl::AlreadyExistsError(absl::StrCat(file, " exists; remove it first"));
                 }
                 RETURN_IF_ERROR(sys::WriteFileAtomic(file, DefaultSpecJson(), 0644));
                 return 0;
               }};
  c["features"] = {"print what this runtime supports, as JSON",
                   "",
                   {},
                   [](StateStore&, const Flags&) -> absl::StatusOr<int> {
                     std::printf("%s\n", Features().dump(2).c_str());
                     return 0;
                   }};
  c["events"] = {"print a container's cgroup statistics as JSON",
                 "<container-id>",
                 {{{"stats"}, false, false, "print them once and exit"},
                  {{"interval"}, true, false, "seconds between samples (default 5)"}},
                 RunEvents};
  for (const char* name : {"checkpoint", "restore"}) {
    c[name] = {"(not supported)", "", {}, [name](StateStore&, const Flags&) -> absl::StatusOr<int> {
                 return absl::UnimplementedError(
                     absl::StrCat("berth-runtime has no \"", name, "\" command"));
               }};
  }
  return c;
}

const std::vector<FlagSpec> kGlobalFlags = {
    {{"root"}, true, false, "directory for container state (default /run/berth/runtime)"},
    {{"log"}, true, false, "log file (default: stderr)"},
    {{"log-format"}, true, false, "text or json"},
    {{"debug"}, false, false, "log debug messages"},
    {{"systemd-cgroup"}, false, false, "(not supported)"},
    {{"rootless"}, true, false, "(only \"false\" or \"auto\" are accepted)"},
    {{"criu"}, true, false, "(ignored: no checkpoint support)"},
    {{"version", "v"}, false, false, "print the version"},
    {{"help", "h"}, false, false, "show help"},
};

void PrintHelp(const std::map<std::string, Command>& commands) {
  std::printf(
      "berth-runtime: an OCI runtime with runc's command line\n\nUSAGE:\n"
      "   berth-runtime [global options] command [command options] [arguments...]\n\n"
      "COMMANDS:\n");
  for (const auto& [name, cmd] : commands)
    std::printf("   %-11s %s\n", name.c_str(), cmd.help.c_str());
  std::printf("\nGLOBAL OPTIONS:\n%s", FlagsHelp(kGlobalFlags).c_str());
}

bool g_log_to_file = false;

// Errors go to stderr for people, and also to the --log file, where callers such as
// containerd's shim read the last one.
int Fail(const absl::Status& st) {
  std::fprintf(stderr, "berth-runtime: %s\n", std::string(st.message()).c_str());
  if (g_log_to_file) {
    spdlog::error("{}", std::string(st.message()));
    spdlog::default_logger()->flush();
  }
  return 1;
}

}  // namespace

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  size_t pos = 0;
  absl::StatusOr<Flags> global = ParseFlags(kGlobalFlags, args, &pos, false);
  const std::map<std::string, Command> commands = Commands();
  if (!global.ok()) {
    std::fprintf(stderr, "berth-runtime: %s\n", std::string(global.status().message()).c_str());
    return 1;
  }
  if (global->Has("version")) {
    std::printf("berth-runtime version %s\nspec: %s\n", kVersion, kOciSpecVersion);
    return 0;
  }
  if (global->Has("help") || pos >= args.size()) {
    PrintHelp(commands);
    return global->Has("help") ? 0 : 1;
  }
  LogOptions log{.level = global->Has("debug") ? "debug" : "warn",
                 .format = global->Get("log-format", "text"),
                 .file = global->Get("log")};
  g_log_to_file = !log.file.empty();
  if (absl::Status st = InitLogging(log); !st.ok()) {
    std::fprintf(stderr, "berth-runtime: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  if (global->Has("systemd-cgroup")) {
    return Fail(absl::InvalidArgumentError(
        "--systemd-cgroup is not supported: berth-runtime manages cgroupfs paths itself"));
  }
  if (std::string r = global->Get("rootless", "false"); r != "false" && r != "auto") {
    return Fail(absl::InvalidArgumentError("rootless containers are not supported"));
  }
  const std::string name = args[pos++];
  auto it = commands.find(name);
  if (it == commands.end()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("unknown command \"", name, "\"")));
  }
  std::vector<FlagSpec> flags = it->second.flags;
  flags.push_back({{"help", "h"}, false, false, "show help"});
  absl::StatusOr<Flags> f = ParseFlags(flags, args, &pos, true);
  if (!f.ok()) return Fail(Annotate(f.status(), name));
  if (f->Has("help")) {
    std::printf("berth-runtime %s %s\n\n%s\n\nOPTIONS:\n%s", name.c_str(), it->second.usage.c_str(),
                it->second.help.c_str(), FlagsHelp(it->second.flags).c_str());
    return 0;
  }
  StateStore store(global->Get("root", kDefaultRoot));
  absl::StatusOr<int> code = it->second.run(store, *f);
  if (!code.ok()) return Fail(code.status());
  return *code;
}

}  // namespace berth::runtime::cli
