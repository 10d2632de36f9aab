// berth completion bash, and the hidden berth __docs: both generated from the command
// definitions themselves (ctl/cli_reference.h).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "ctl/cli_reference.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"

namespace berth::ctl {

void AddCompletionCommand(CLI::App& app, Run* run) {
  auto shell = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("completion", "Generate the shell completion script");
  cmd->add_option("SHELL", *shell, "the shell: bash")->required();
  const CLI::App* root = &app;
  cmd->callback([run, shell, root] {
    *run = [shell, root](const GlobalOptions&) {
      if (*shell != "bash") {
        return Failed(absl::InvalidArgumentError(
            absl::StrCat("unsupported shell \"", *shell, "\" (berth completes bash)")));
      }
      std::fputs(BashCompletion(*root).c_str(), stdout);
      return 0;
    };
  });
}

void AddDocsCommand(CLI::App& app, Run* run) {
  CLI::App* cmd = app.add_subcommand("__docs", "Print the command reference (docs/cli.md)");
  cmd->group("");  // hidden
  const CLI::App* root = &app;
  cmd->callback([run, root] {
    *run = [root](const GlobalOptions&) {
      std::fputs(MarkdownReference(*root).c_str(), stdout);
      return 0;
    };
  });
}

}  // namespace berth::ctl
