#include "ctl/cli.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "ctl/client.h"
#include "ctl/commands.h"

namespace berth::ctl {
namespace {

// Whether `arg` (an option as typed) is one of `app`'s that takes a value from the next word.
bool TakesNextWord(const CLI::App& app, const std::string& arg) {
  if (arg.rfind("--", 0) == 0) {
    if (arg.find('=') != std::string::npos) return false;
  } else if (arg.size() > 2) {
    // -abc: flags bundled; only the last one can take a value, and "-w/dir" has it attached.
    const CLI::Option* last = app.get_option_no_throw(std::string("-") + arg[1]);
    if (last != nullptr && last->get_expected_min() > 0) return false;
    return TakesNextWord(app, std::string("-") + arg.back());
  }
  const CLI::Option* opt = app.get_option_no_throw(arg);
  return opt != nullptr && opt->get_expected_min() > 0;
}

// Verbs whose first operand starts a command line of its own (`run IMAGE CMD…`, `exec
// CONTAINER CMD…`): the container's arguments must not be read as berth's options, so a
// "--" goes in before that operand.
void GuardCommandLines(const CLI::App& app, std::vector<std::string>* args) {
  size_t i = 0;
  for (; i < args->size(); ++i) {  // past the global options, to the verb
    const std::string& a = (*args)[i];
    if (a == "--" || a.empty() || a[0] != '-') break;
    if (TakesNextWord(app, a)) ++i;
  }
  if (i >= args->size()) return;
  const std::string verb = (*args)[i];
  if (verb != "run" && verb != "create" && verb != "exec") return;
  std::vector<const CLI::App*> found =
      app.get_subcommands([&](const CLI::App* c) { return c->get_name() == verb; });
  if (found.empty()) return;
  const CLI::App* cmd = found.front();
  for (++i; i < args->size(); ++i) {
    const std::string& a = (*args)[i];
    if (a == "--") return;
    if (a.empty() || a[0] != '-' || a == "-") {
      args->insert(args->begin() + static_cast<long>(i), "--");
      return;
    }
    if (TakesNextWord(*cmd, a) || TakesNextWord(app, a)) ++i;
  }
}

}  // namespace

int Main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  // SIGWINCH is only ever read from a signalfd (attach_io.cc). Blocking it here, before gRPC
  // starts its threads, keeps it pending for that fd: a thread that did not block it would
  // take it the default way, which is to drop it.
  sigset_t winch;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  ::pthread_sigmask(SIG_BLOCK, &winch, nullptr);
  CLI::App app("berth: build, ship and run containers", "berth");
  app.require_subcommand(1);
  app.fallthrough();  // Global options may also follow the verb.
  GlobalOptions global;
  app.add_option("-H,--host", global.host,
                 "daemon address: unix:///path or tcp://host:port (default " +
                     std::string(kDefaultHost) + ")")
      ->envname("BERTH_HOST");
  app.add_option("-n,--namespace", global.ns, "namespace of the objects to work on")
      ->envname("BERTH_NAMESPACE");
  app.add_option("--tlscacert", global.tls_ca, "CA that the daemon's certificate must chain to");
  app.add_option("--tlscert", global.tls_cert, "client certificate for tcp:// hosts");
  app.add_option("--tlskey", global.tls_key, "client key for tcp:// hosts");

  Run run;
  AddVersionCommand(app, &run);
  AddInfoCommand(app, &run);
  AddImagesCommand(app, &run);
  AddImageCommand(app, &run);
  AddLoadCommand(app, &run);
  AddSaveCommand(app, &run);
  AddRmiCommand(app, &run);
  AddTagCommand(app, &run);
  AddPullCommand(app, &run);
  AddPushCommand(app, &run);
  AddLoginCommand(app, &run);
  AddRunCommand(app, &run);
  AddCreateCommand(app, &run);
  AddStartCommand(app, &run);
  AddAttachCommand(app, &run);
  AddExecCommand(app, &run);
  AddBuildCommand(app, &run);
  AddNetworkCommand(app, &run);
  AddPortCommand(app, &run);
  AddUpdateCommand(app, &run);
  AddVolumeCommand(app, &run);
  AddPsCommand(app, &run);
  AddStopCommand(app, &run);
  AddRestartCommand(app, &run);
  AddKillCommand(app, &run);
  AddPauseCommand(app, &run);
  AddUnpauseCommand(app, &run);
  AddWaitCommand(app, &run);
  AddRmCommand(app, &run);
  AddLogsCommand(app, &run);
  AddInspectCommand(app, &run);
  AddTopCommand(app, &run);
  AddStatsCommand(app, &run);
  AddRenameCommand(app, &run);
  AddEventsCommand(app, &run);
  AddContainerCommand(app, &run);
  AddImageGroupCommands(app, &run);
  AddSystemCommand(app, &run);
  AddSystemCheckCommand(*app.get_subcommand("system"), &run);
  AddCompletionCommand(app, &run);
  AddDocsCommand(app, &run);

  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    GuardCommandLines(app, &args);
    std::reverse(args.begin(), args.end());  // CLI11 takes them last-first
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports a mistyped verb as a missing one; say what was typed instead.
    std::string what = e.what();
    if (app.get_subcommands().empty() && !app.remaining().empty()) {
      what = "unknown command \"" + app.remaining().front() + "\"";
    }
    std::fprintf(stderr, "berth: %s\nSee 'berth --help'.\n", what.c_str());
    return kExitBerth;
  }
  return run(global);
}

}  // namespace berth::ctl
