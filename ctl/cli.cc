#include "ctl/cli.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "ctl/client.h"
#include "ctl/commands.h"

namespace berth::ctl {

int Main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
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

  try {
    app.parse(argc, argv);
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
