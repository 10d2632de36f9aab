// berth exec: run a command in a running container, attached (exit code) or detached.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ctl/attach_io.h"
#include "ctl/commands.h"
#include "ctl/container/detach_keys.h"
#include "ctl/container/env.h"
#include "ctl/container/names.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"
#include "ctl/exit_codes.h"

namespace berth::ctl {
namespace {

namespace tpb = berth::services::tasks::v1;

struct ExecFlags {
  bool detach = false, interactive = false, tty = false, privileged = false;
  std::vector<std::string> env;
  std::string workdir, user;
  std::string detach_keys = kDefaultDetachKeys;
  std::string container;
  std::vector<std::string> command;
};

// The process to run: the container's own (environment, user, capabilities, limits) with
// the command and the flags' changes. A user given by name is resolved by the daemon against
// the container's files (process.user.username).
absl::StatusOr<nlohmann::json> ExecProcess(const nlohmann::json& spec, const ExecFlags& f,
                                           const std::vector<std::string>& command) {
  nlohmann::json p = spec.contains("process") ? spec["process"] : nlohmann::json::object();
  p["args"] = command;
  p["terminal"] = f.tty;
  std::vector<std::string> env = p.value("env", std::vector<std::string>{});
  std::vector<std::string> overrides;
  for (const std::string& e : f.env) {
    absl::StatusOr<std::string> v = ResolveEnvFlag(e, ProcessEnvironment());
    if (!v.ok()) return v.status();
    overrides.push_back(*v);
  }
  if (f.tty && !HasEnv(env, "TERM")) overrides.push_back("TERM=xterm");
  p["env"] = MergeEnv(env, overrides);
  if (!f.workdir.empty()) p["cwd"] = f.workdir;
  if (!f.user.empty()) {
    std::vector<std::string> parts = absl::StrSplit(f.user, absl::MaxSplits(':', 1));
    uint32_t uid = 0, gid = 0;
    const bool numeric =
        absl::SimpleAtoi(parts[0], &uid) && (parts.size() == 1 || absl::SimpleAtoi(parts[1], &gid));
    nlohmann::json user = {{"uid", uid}, {"gid", gid}};
    if (!numeric) user["username"] = f.user;
    p["user"] = user;
  }
  if (f.privileged && p.contains("capabilities")) {
    // All the capabilities the container's bounding set allows.
    nlohmann::json& caps = p["capabilities"];
    if (caps.contains("bounding")) {
      for (const char* set : {"effective", "permitted", "inheritable"})
        caps[set] = caps["bounding"];
    }
  }
  return p;
}

int RunExec(const GlobalOptions& global, const ExecFlags& f) {
  const std::string& ref = f.container;
  const std::vector<std::string>& command = f.command;
  absl::StatusOr<std::string> keys = ParseDetachKeys(f.detach_keys);
  if (!keys.ok()) return ReportError(keys.status());
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  ContainerApi api(**client);
  absl::StatusOr<ContainerView> v = api.View(ref);
  if (!v.ok()) return ReportError(v.status());
  if (!v->running()) {
    return ReportError(absl::FailedPreconditionError(
        absl::StrCat("Container ", v->record.id(), " is not running")));
  }
  if (v->state.status == ContainerStatus::kPaused) {
    return ReportError(absl::FailedPreconditionError(absl::StrCat(
        "Container ", v->record.id(), " is paused, unpause the container before exec")));
  }
  const nlohmann::json spec = nlohmann::json::parse(v->record.spec(), nullptr, false);
  absl::StatusOr<nlohmann::json> process = ExecProcess(spec, f, command);
  if (!process.ok()) return ReportError(process.status());
  absl::StatusOr<std::string> exec_id = NewContainerId();
  if (!exec_id.ok()) return ReportError(exec_id.status());
  exec_id->resize(16);

  tpb::ExecProcessRequest req;
  req.set_container_id(v->record.id());
  req.set_exec_id(*exec_id);
  req.set_spec(process->dump());
  req.mutable_stdio()->set_terminal(f.tty);
  req.mutable_stdio()->set_stdin_open(f.interactive);
  google::protobuf::Empty e;
  grpc::Status st = api.tasks().Exec((*client)->Context().get(), req, &e);
  if (!st.ok()) return ReportError(CallError(**client, st));
  auto start = [&]() -> absl::Status { return api.Start(v->record.id(), *exec_id).status(); };
  auto forget = [&] {
    tpb::DeleteProcessRequest del;
    del.set_container_id(v->record.id());
    del.set_exec_id(*exec_id);
    tpb::DeleteResponse d;
    api.tasks().DeleteProcess((*client)->Context().get(), del, &d);
  };
  if (f.detach) {
    absl::Status started = start();
    if (!started.ok()) return ReportError(started);
    return 0;
  }
  absl::Status start_error;
  AttachOptions io{.container_id = v->record.id(),
                   .exec_id = *exec_id,
                   .stdin = f.interactive,
                   .tty = f.tty,
                   .detach_keys = *keys};
  absl::StatusOr<AttachResult> r = AttachStream(**client, io, [&] {
    start_error = start();
    return start_error;
  });
  if (!start_error.ok()) {
    forget();
    std::fprintf(stderr, "berth: %s\n", std::string(start_error.message()).c_str());
    return CommandExitCode(start_error.message());
  }
  if (!r.ok()) return ReportError(r.status());
  if (r->detached) return 0;
  int code = r->exit_status;
  if (code < 0) {
    absl::StatusOr<int> w = api.Wait(v->record.id(), *exec_id);
    code = w.ok() ? *w : ReportError(w.status());
  }
  forget();
  return code;
}

}  // namespace

void AddExecCommand(CLI::App& app, Run* run) {
  CLI::App* cmd = app.add_subcommand("exec", "Execute a command in a running container");
  auto f = std::make_shared<ExecFlags>();
  cmd->add_option("CONTAINER", f->container, "the running container")->required();
  cmd->add_option("COMMAND", f->command, "the command and its arguments")->required();
  cmd->add_flag("-d,--detach", f->detach, "run the command in the background");
  cmd->add_flag("-i,--interactive", f->interactive, "keep STDIN open even if not attached");
  cmd->add_flag("-t,--tty", f->tty, "allocate a pseudo-TTY");
  cmd->add_option("-e,--env", f->env, "set environment variables")->allow_extra_args(false);
  cmd->add_option("-w,--workdir", f->workdir, "working directory inside the container");
  cmd->add_option("-u,--user", f->user, "username or UID (format: <name|uid>[:<group|gid>])");
  cmd->add_flag("--privileged", f->privileged, "give extended privileges to the command");
  cmd->add_option("--detach-keys", f->detach_keys, "key sequence for detaching");
  cmd->callback([run, f] { *run = [f](const GlobalOptions& g) { return RunExec(g, *f); }; });
}

}  // namespace berth::ctl
