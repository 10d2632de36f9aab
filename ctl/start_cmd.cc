// berth start and berth attach: start stopped containers (optionally attached), or connect to
// a running one's streams.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "ctl/attach_io.h"
#include "ctl/commands.h"
#include "ctl/container/detach_keys.h"
#include "ctl/container/labels.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

bool HasTerminal(const berth::services::containers::v1::Container& c) {
  const nlohmann::json spec = nlohmann::json::parse(c.spec(), nullptr, false);
  return spec.is_object() && spec.contains("process") && spec["process"].value("terminal", false);
}

bool OpenStdin(const berth::services::containers::v1::Container& c) {
  auto it = c.labels().find(kLabelOpenStdin);
  return it != c.labels().end() && it->second == "true";
}

struct StartFlags {
  bool attach = false, interactive = false;
  std::string detach_keys = kDefaultDetachKeys;
  std::vector<std::string> containers;
};

// Starts one container: a fresh task on its snapshot (the last one's leftovers go first).
absl::Status StartOne(
    ContainerApi& api, const ContainerView& v,
    const std::function<absl::Status(const std::function<absl::Status()>&)>& attach) {
  const std::string& id = v.record.id();
  if (v.task.has_value()) {
    absl::Status st = api.DeleteTask(id);
    if (!st.ok() && !absl::IsNotFound(st)) return st;
  }
  // A container started by hand is no longer one stopped by hand.
  if (absl::Status st = api.SetLabels(id, {{kLabelManuallyStopped, ""}}); !st.ok()) return st;
  if (absl::Status st = api.CreateTask(v.record, OpenStdin(v.record)); !st.ok()) return st;
  auto start = [&]() -> absl::Status {
    absl::Status st = api.Start(id).status();
    if (!st.ok()) api.DeleteTask(id).IgnoreError();
    return st;
  };
  return attach ? attach(start) : start();
}

int RunStart(const GlobalOptions& global, const StartFlags& f) {
  if (f.attach && f.containers.size() > 1) {
    return ReportError(
        absl::InvalidArgumentError("you cannot start and attach multiple containers at once"));
  }
  absl::StatusOr<std::string> keys = ParseDetachKeys(f.detach_keys);
  if (!keys.ok()) return ReportError(keys.status());
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  ContainerApi api(**client);
  int code = 0;
  for (const std::string& ref : f.containers) {
    absl::StatusOr<ContainerView> v = api.View(ref);
    if (!v.ok()) {
      code = ReportError(v.status());
      continue;
    }
    if (v->running()) {
      if (!f.attach) std::printf("%s\n", ref.c_str());
      continue;
    }
    if (!f.attach) {
      absl::Status st = StartOne(api, *v, nullptr);
      if (!st.ok()) {
        code = ReportError(
            absl::Status(st.code(), absl::StrCat("Error response from daemon: ", st.message(),
                                                 "\nfailed to start "
                                                 "containers: ",
                                                 ref)));
        continue;
      }
      std::printf("%s\n", ref.c_str());
      continue;
    }
    AttachResult result;
    absl::Status st = StartOne(api, *v, [&](const std::function<absl::Status()>& start) {
      AttachOptions io{.container_id = v->record.id(),
                       .stdin = f.interactive && OpenStdin(v->record),
                       .tty = HasTerminal(v->record),
                       .detach_keys = *keys};
      absl::StatusOr<AttachResult> r = AttachStream(**client, io, start);
      if (!r.ok()) return r.status();
      result = *r;
      return absl::OkStatus();
    });
    if (!st.ok()) return ReportError(st);
    if (result.detached) return 0;
    if (result.exit_status < 0) {
      absl::StatusOr<int> w = api.Wait(v->record.id());
      return w.ok() ? *w : ReportError(w.status());
    }
    return result.exit_status;
  }
  return code;
}

struct AttachFlags {
  bool no_stdin = false;
  std::string detach_keys = kDefaultDetachKeys;
  std::string container;
};

int RunAttach(const GlobalOptions& global, const AttachFlags& f) {
  absl::StatusOr<std::string> keys = ParseDetachKeys(f.detach_keys);
  if (!keys.ok()) return ReportError(keys.status());
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  ContainerApi api(**client);
  absl::StatusOr<ContainerView> v = api.View(f.container);
  if (!v.ok()) return ReportError(v.status());
  if (!v->running()) {
    return ReportError(
        absl::FailedPreconditionError("You cannot attach to a stopped container, start it first"));
  }
  if (v->state.status == ContainerStatus::kPaused) {
    return ReportError(
        absl::FailedPreconditionError("You cannot attach to a paused container, unpause it first"));
  }
  AttachOptions io{.container_id = v->record.id(),
                   .stdin = !f.no_stdin && OpenStdin(v->record),
                   .tty = HasTerminal(v->record),
                   .detach_keys = *keys};
  absl::StatusOr<AttachResult> r = AttachStream(**client, io, [] { return absl::OkStatus(); });
  if (!r.ok()) return ReportError(r.status());
  if (r->detached) {
    std::fprintf(stderr, "\nread escape sequence\n");
    return 0;
  }
  return r->exit_status < 0 ? 0 : r->exit_status;
}

}  // namespace

void AddStartCommand(CLI::App& app, Run* run) {
  CLI::App* cmd = app.add_subcommand("start", "Start one or more stopped containers");
  auto f = std::make_shared<StartFlags>();
  cmd->add_flag("-a,--attach", f->attach, "attach STDOUT/STDERR and forward signals");
  cmd->add_flag("-i,--interactive", f->interactive, "attach the container's STDIN");
  cmd->add_option("--detach-keys", f->detach_keys, "key sequence for detaching");
  cmd->add_option("CONTAINER", f->containers, "containers to start")->required();
  cmd->callback([run, f] { *run = [f](const GlobalOptions& g) { return RunStart(g, *f); }; });
}

void AddAttachCommand(CLI::App& app, Run* run) {
  CLI::App* cmd = app.add_subcommand(
      "attach", "Attach local standard input, output, and error streams to a running container");
  auto f = std::make_shared<AttachFlags>();
  cmd->add_flag("--no-stdin", f->no_stdin, "do not attach STDIN");
  cmd->add_option("--detach-keys", f->detach_keys, "key sequence for detaching");
  cmd->add_option("CONTAINER", f->container, "the container")->required();
  cmd->callback([run, f] { *run = [f](const GlobalOptions& g) { return RunAttach(g, *f); }; });
}

}  // namespace berth::ctl
