// Each CLI verb lives in its own file and registers itself on the app with one of these.
// A verb's callback receives the parsed global options and returns the process exit code.
#ifndef BERTH_CTL_COMMANDS_H_
#define BERTH_CTL_COMMANDS_H_

#include <functional>

#include "ctl/client.h"

namespace CLI {
class App;
}

namespace berth::ctl {

// Where a verb puts its result: the exit code that Main returns.
using Run = std::function<int(const GlobalOptions&)>;

// Registers `verb` on `app`; `run` is set to the verb's action when the verb is chosen.
void AddVersionCommand(CLI::App& app, Run* run);
void AddInfoCommand(CLI::App& app, Run* run);
void AddImagesCommand(CLI::App& app, Run* run);
void AddImageCommand(CLI::App& app, Run* run);
void AddLoadCommand(CLI::App& app, Run* run);
void AddSaveCommand(CLI::App& app, Run* run);
void AddRmiCommand(CLI::App& app, Run* run);
void AddTagCommand(CLI::App& app, Run* run);
void AddPullCommand(CLI::App& app, Run* run);
void AddPushCommand(CLI::App& app, Run* run);
// login and logout.
void AddLoginCommand(CLI::App& app, Run* run);
void AddRunCommand(CLI::App& app, Run* run);
void AddCreateCommand(CLI::App& app, Run* run);
void AddStartCommand(CLI::App& app, Run* run);
void AddAttachCommand(CLI::App& app, Run* run);
void AddExecCommand(CLI::App& app, Run* run);
// build, and builder prune.
void AddBuildCommand(CLI::App& app, Run* run);
void AddNetworkCommand(CLI::App& app, Run* run);
void AddPortCommand(CLI::App& app, Run* run);
void AddUpdateCommand(CLI::App& app, Run* run);
// volume create|ls|inspect|rm|prune.
void AddVolumeCommand(CLI::App& app, Run* run);

// ps, stop, restart, kill, pause, unpause, wait, rm, logs, inspect, top, stats, rename,
// events, completion; the management groups container, image (prune and the verbs again) and
// system (df, prune, info, events); and the hidden __docs.
void AddPsCommand(CLI::App& app, Run* run);
void AddStopCommand(CLI::App& app, Run* run);
void AddRestartCommand(CLI::App& app, Run* run);
void AddKillCommand(CLI::App& app, Run* run);
void AddPauseCommand(CLI::App& app, Run* run);
void AddUnpauseCommand(CLI::App& app, Run* run);
void AddWaitCommand(CLI::App& app, Run* run);
void AddRmCommand(CLI::App& app, Run* run);
void AddLogsCommand(CLI::App& app, Run* run);
void AddInspectCommand(CLI::App& app, Run* run);
void AddTopCommand(CLI::App& app, Run* run);
void AddStatsCommand(CLI::App& app, Run* run);
void AddRenameCommand(CLI::App& app, Run* run);
void AddEventsCommand(CLI::App& app, Run* run);
void AddCompletionCommand(CLI::App& app, Run* run);
void AddDocsCommand(CLI::App& app, Run* run);
void AddContainerCommand(CLI::App& app, Run* run);
// Adds prune, ls, rm, tag, load and save to the `image` group AddImageCommand made.
void AddImageGroupCommands(CLI::App& app, Run* run);
void AddSystemCommand(CLI::App& app, Run* run);
// Registered on a group (`container`, `image`, `system`) rather than on berth itself.
void AddContainerInspectCommand(CLI::App& container, Run* run);
void AddContainerPruneCommand(CLI::App& container, Run* run);
void AddImagePruneCommand(CLI::App& app, Run* run);
void AddSystemDfCommand(CLI::App& system, Run* run);
void AddSystemPruneCommand(CLI::App& system, Run* run);
// system check [--fix] (check_cmd.cc).
void AddSystemCheckCommand(CLI::App& system, Run* run);

}  // namespace berth::ctl

#endif  // BERTH_CTL_COMMANDS_H_
