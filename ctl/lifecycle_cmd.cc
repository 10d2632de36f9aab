// berth stop, restart, kill, pause, unpause and wait: one or more containers by name or id
// prefix, each printed as given once done (wait prints exit codes), as Docker's verbs do. A
// container that fails is reported and the others still go; the exit code is then 1.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/signal.h"
#include "ctl/commands.h"
#include "ctl/container/labels.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

namespace tpb = berth::services::tasks::v1;

struct Targets {
  std::vector<std::string> containers;
  int timeout = -1;  // stop/restart -t; -1: the container's own (else 10 s)
  bool timeout_set = false;
  std::string signal = "KILL";
};

// Runs `one` on each container; 0 if all went well, else 1 (or 125 when berth itself failed).
int ForEach(const GlobalOptions& global, const std::vector<std::string>& refs,
            const std::function<absl::Status(ContainerApi&, const ContainerView&,
                                             const std::string& ref)>& one) {
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());
  ContainerApi api(**client);
  int rc = 0;
  for (const std::string& ref : refs) {
    absl::StatusOr<ContainerView> v = api.View(ref);
    absl::Status st = v.ok() ? one(api, *v, ref) : v.status();
    if (!st.ok()) rc = Failed(st);
  }
  return rc;
}

absl::Status NotRunning(const ContainerView& v) {
  return absl::FailedPreconditionError(
      absl::StrCat("Container ", v.record.id(), " is not running"));
}

int RunStop(const GlobalOptions& global, const Targets& t) {
  const absl::optional<int> timeout =
      t.timeout_set ? absl::optional<int>(t.timeout) : absl::nullopt;
  return ForEach(global, t.containers,
                 [&](ContainerApi& api, const ContainerView& v, const std::string& ref) {
                   absl::Status st = api.Stop(v, timeout);
                   if (st.ok()) std::printf("%s\n", ref.c_str());
                   return st;
                 });
}

int RunRestart(const GlobalOptions& global, const Targets& t) {
  const absl::optional<int> timeout =
      t.timeout_set ? absl::optional<int>(t.timeout) : absl::nullopt;
  return ForEach(
      global, t.containers,
      [&](ContainerApi& api, const ContainerView& v, const std::string& ref) -> absl::Status {
        if (v.running()) {
          if (absl::Status st = api.Stop(v, timeout); !st.ok()) return st;
        }
        absl::StatusOr<ContainerView> now = api.View(v.record.id());
        if (!now.ok()) return now.status();
        if (absl::Status st = StartStopped(api, *now); !st.ok()) {
          return absl::Status(st.code(),
                              absl::StrCat("Cannot restart container ", ref, ": ", st.message()));
        }
        std::printf("%s\n", ref.c_str());
        return absl::OkStatus();
      });
}

int RunKill(const GlobalOptions& global, const Targets& t) {
  absl::StatusOr<int> sig = ParseSignal(t.signal);
  if (!sig.ok()) {
    return Failed(absl::InvalidArgumentError(absl::StrCat("Invalid signal: ", t.signal)));
  }
  return ForEach(
      global, t.containers,
      [&](ContainerApi& api, const ContainerView& v, const std::string& ref) -> absl::Status {
        const std::string& id = v.record.id();
        if (!v.running()) {
          return absl::FailedPreconditionError(
              absl::StrCat("Cannot kill container: ", ref, ": Container ", id, " is not running"));
        }
        // As Docker's kill: the restart policy no longer brings it back.
        if (absl::Status st = api.SetLabels(id, {{kLabelManuallyStopped, "true"}}); !st.ok()) {
          return st;
        }
        if (absl::Status st = api.Kill(id, *sig); !st.ok()) return st;
        if (v.state.status == ContainerStatus::kPaused && *sig == SIGKILL) {
          tpb::ResumeTaskRequest r;
          r.set_container_id(id);
          google::protobuf::Empty e;
          api.tasks().Resume(api.client().Context().get(), r, &e);
        }
        std::printf("%s\n", ref.c_str());
        return absl::OkStatus();
      });
}

int RunPause(const GlobalOptions& global, const Targets& t, bool pause) {
  return ForEach(
      global, t.containers,
      [&](ContainerApi& api, const ContainerView& v, const std::string& ref) -> absl::Status {
        const std::string& id = v.record.id();
        const bool paused = v.state.status == ContainerStatus::kPaused;
        if (!v.running()) return NotRunning(v);
        if (pause && paused) {
          return absl::FailedPreconditionError(
              absl::StrCat("Container ", id, " is already paused"));
        }
        if (!pause && !paused) {
          return absl::FailedPreconditionError(absl::StrCat("Container ", id, " is not paused"));
        }
        google::protobuf::Empty e;
        grpc::Status st;
        if (pause) {
          tpb::PauseTaskRequest r;
          r.set_container_id(id);
          st = api.tasks().Pause(api.client().Context().get(), r, &e);
        } else {
          tpb::ResumeTaskRequest r;
          r.set_container_id(id);
          st = api.tasks().Resume(api.client().Context().get(), r, &e);
        }
        if (!st.ok()) return CallError(api.client(), st);
        std::printf("%s\n", ref.c_str());
        return absl::OkStatus();
      });
}

int RunWait(const GlobalOptions& global, const Targets& t) {
  return ForEach(
      global, t.containers,
      [&](ContainerApi& api, const ContainerView& seen, const std::string&) -> absl::Status {
        absl::StatusOr<ContainerView> settled = SettledView(api, seen.record.id());
        if (!settled.ok()) return settled.status();
        const ContainerView& v = *settled;
        int code = v.state.exit_code;
        if (v.running() || (v.task.has_value() && v.state.status != ContainerStatus::kCreated)) {
          absl::StatusOr<int> w = api.Wait(v.record.id());
          if (!w.ok() && !absl::IsUnavailable(w.status())) {
            // The daemon deleted the task while we waited, and may not have recorded the exit
            // yet: read it from the record once it has.
            absl::StatusOr<ContainerView> after = SettledView(api, v.record.id());
            if (after.ok() && !after->running() && !after->task.has_value()) {
              w = after->state.exit_code;
            }
          }
          if (!w.ok()) return w.status();
          code = *w;
        }
        std::printf("%d\n", code);
        std::fflush(stdout);
        return absl::OkStatus();
      });
}

CLI::App* Verb(CLI::App& app, const std::string& name, const std::string& help,
               std::shared_ptr<Targets> t) {
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("CONTAINER", t->containers, "containers, by name or (prefix of) id")->required();
  return cmd;
}

void AddTimeout(CLI::App* cmd, Targets* t) {
  cmd->add_option_function<int>(
      "-t,--time,--timeout",
      [t](int v) {
        t->timeout = v;
        t->timeout_set = true;
      },
      "seconds to wait for stop before killing it (default: the container's --stop-timeout, "
      "else 10; -1 waits forever)");
}

}  // namespace

void AddStopCommand(CLI::App& app, Run* run) {
  auto t = std::make_shared<Targets>();
  CLI::App* cmd = Verb(app, "stop", "Stop one or more running containers", t);
  AddTimeout(cmd, t.get());
  cmd->callback([run, t] { *run = [t](const GlobalOptions& g) { return RunStop(g, *t); }; });
}

void AddRestartCommand(CLI::App& app, Run* run) {
  auto t = std::make_shared<Targets>();
  CLI::App* cmd = Verb(app, "restart", "Restart one or more containers", t);
  AddTimeout(cmd, t.get());
  cmd->callback([run, t] { *run = [t](const GlobalOptions& g) { return RunRestart(g, *t); }; });
}

void AddKillCommand(CLI::App& app, Run* run) {
  auto t = std::make_shared<Targets>();
  CLI::App* cmd = Verb(app, "kill", "Kill one or more running containers", t);
  cmd->add_option("-s,--signal", t->signal, "signal to send to the container (default KILL)");
  cmd->callback([run, t] { *run = [t](const GlobalOptions& g) { return RunKill(g, *t); }; });
}

void AddPauseCommand(CLI::App& app, Run* run) {
  auto t = std::make_shared<Targets>();
  CLI::App* cmd = Verb(app, "pause", "Pause all processes within one or more containers", t);
  cmd->callback([run, t] { *run = [t](const GlobalOptions& g) { return RunPause(g, *t, true); }; });
}

void AddUnpauseCommand(CLI::App& app, Run* run) {
  auto t = std::make_shared<Targets>();
  CLI::App* cmd = Verb(app, "unpause", "Unpause all processes within one or more containers", t);
  cmd->callback(
      [run, t] { *run = [t](const GlobalOptions& g) { return RunPause(g, *t, false); }; });
}

void AddWaitCommand(CLI::App& app, Run* run) {
  auto t = std::make_shared<Targets>();
  CLI::App* cmd =
      Verb(app, "wait", "Block until one or more containers stop, then print their exit codes", t);
  cmd->callback([run, t] { *run = [t](const GlobalOptions& g) { return RunWait(g, *t); }; });
}

}  // namespace berth::ctl
