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

}  // namespace berth::ctl

#endif  // BERTH_CTL_COMMANDS_H_
