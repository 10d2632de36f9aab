// berth rm and berth container prune: containers go with their task, snapshot and logs.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ctl/commands.h"
#include "ctl/container/timespec.h"
#include "ctl/container/units.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"
#include "ctl/prune.h"
#include "ctl/volume_api.h"

namespace berth::ctl {
namespace {

struct RmFlags {
  bool force = false, volumes = false;
  std::vector<std::string> containers;
};

int RunRm(const GlobalOptions& global, const RmFlags& f) {
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());
  ContainerApi api(**client);
  int rc = 0;
  for (const std::string& ref : f.containers) {
    absl::StatusOr<ContainerView> v = api.View(ref);
    absl::Status st = v.ok() ? api.Remove(*v, f.force) : v.status();
    if (st.ok() && f.volumes) st = RemoveAnonymousVolumes(api, v->record);
    if (!st.ok()) {
      rc = Failed(st);
      continue;
    }
    std::printf("%s\n", ref.c_str());
  }
  return rc;
}

struct PruneFlags {
  bool force = false;
  std::vector<std::string> filters;
};

int RunContainerPrune(const GlobalOptions& global, const PruneFlags& f) {
  absl::StatusOr<PruneFilter> filter = PruneFilter::Parse(f.filters, absl::Now());
  if (!filter.ok()) return Failed(filter.status());
  if (!f.force && !Confirm("WARNING! This will remove all stopped containers.\n"
                           "Are you sure you want to continue?")) {
    std::printf("Total reclaimed space: %s\n", HumanSize4(0).c_str());
    return 0;
  }
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());
  absl::StatusOr<PruneReport> report = PruneContainers(**client, *filter);
  if (!report.ok()) return Failed(report.status());
  std::fputs(report->Text("Deleted Containers:").c_str(), stdout);
  std::printf("Total reclaimed space: %s\n", HumanSize4(report->reclaimed).c_str());
  return report->errors ? kExitError : 0;
}

}  // namespace

void AddRmCommand(CLI::App& app, Run* run) {
  auto f = std::make_shared<RmFlags>();
  CLI::App* cmd = app.add_subcommand("rm", "Remove one or more containers");
  cmd->add_flag("-f,--force", f->force, "force the removal of a running container (uses SIGKILL)");
  cmd->add_flag("-v,--volumes", f->volumes,
                "remove anonymous volumes associated with the container");
  cmd->add_option("CONTAINER", f->containers, "containers, by name or (prefix of) id")->required();
  cmd->callback([run, f] { *run = [f](const GlobalOptions& g) { return RunRm(g, *f); }; });
}

void AddContainerPruneCommand(CLI::App& container, Run* run) {
  auto f = std::make_shared<PruneFlags>();
  CLI::App* cmd = container.add_subcommand("prune", "Remove all stopped containers");
  cmd->add_flag("-f,--force", f->force, "do not prompt for confirmation");
  cmd->add_option("--filter", f->filters,
                  "provide filter values (e.g. 'until=24h', 'label=k', 'label=k=v', "
                  "'label!=k')")
      ->allow_extra_args(false);
  cmd->callback(
      [run, f] { *run = [f](const GlobalOptions& g) { return RunContainerPrune(g, *f); }; });
}

}  // namespace berth::ctl
