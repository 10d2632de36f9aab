// berth container …, berth image … and berth system …: Docker's management-command forms of
// the top-level verbs (`container ls` is `ps`, `image rm` is `rmi`), registered again under
// their group. run, create and exec stay top-level only: their command-line guard
// (cli.cc GuardCommandLines) knows them there.
#include <CLI/CLI.hpp>

#include "ctl/commands.h"

namespace berth::ctl {
namespace {

// Registers with `add` under `group`, then names it `name` with `aliases`.
void Again(CLI::App* group, Run* run, void (*add)(CLI::App&, Run*), const std::string& verb,
           const std::string& name, std::vector<std::string> aliases = {}) {
  add(*group, run);
  CLI::App* cmd = group->get_subcommand(verb);
  if (name != verb) cmd->name(name);
  for (const std::string& a : aliases) cmd->alias(a);
}

}  // namespace

void AddContainerCommand(CLI::App& app, Run* run) {
  CLI::App* c = app.add_subcommand("container", "Manage containers");
  c->require_subcommand(1);
  Again(c, run, AddAttachCommand, "attach", "attach");
  Again(c, run, AddContainerInspectCommand, "inspect", "inspect");
  Again(c, run, AddKillCommand, "kill", "kill");
  Again(c, run, AddLogsCommand, "logs", "logs");
  Again(c, run, AddPsCommand, "ps", "ls", {"list", "ps"});
  Again(c, run, AddPauseCommand, "pause", "pause");
  Again(c, run, AddContainerPruneCommand, "prune", "prune");
  Again(c, run, AddRenameCommand, "rename", "rename");
  Again(c, run, AddRestartCommand, "restart", "restart");
  Again(c, run, AddRmCommand, "rm", "rm", {"remove"});
  Again(c, run, AddStartCommand, "start", "start");
  Again(c, run, AddStatsCommand, "stats", "stats");
  Again(c, run, AddStopCommand, "stop", "stop");
  Again(c, run, AddTopCommand, "top", "top");
  Again(c, run, AddUnpauseCommand, "unpause", "unpause");
  Again(c, run, AddWaitCommand, "wait", "wait");
}

void AddImageGroupCommands(CLI::App& app, Run* run) {
  CLI::App* image = app.get_subcommand("image");
  AddImagePruneCommand(app, run);
  Again(image, run, AddImagesCommand, "images", "ls", {"list"});
  Again(image, run, AddRmiCommand, "rmi", "rm", {"remove"});
  Again(image, run, AddTagCommand, "tag", "tag");
  Again(image, run, AddLoadCommand, "load", "load");
  Again(image, run, AddSaveCommand, "save", "save");
}

void AddSystemCommand(CLI::App& app, Run* run) {
  CLI::App* system = app.add_subcommand("system", "Manage berth");
  system->require_subcommand(1);
  AddSystemDfCommand(*system, run);
  AddSystemPruneCommand(*system, run);
  Again(system, run, AddInfoCommand, "info", "info");
  Again(system, run, AddEventsCommand, "events", "events");
}

}  // namespace berth::ctl
