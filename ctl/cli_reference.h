// What is generated from the CLI11 definitions themselves, so that it never drifts from
// `--help`: the bash completion script (`berth completion bash`) and the command reference
// docs/cli.md (`berth __docs`; e2e keeps the committed file equal to the output).
#ifndef BERTH_CTL_CLI_REFERENCE_H_
#define BERTH_CTL_CLI_REFERENCE_H_

#include <string>

namespace CLI {
class App;
}

namespace berth::ctl {

// A bash script defining and registering `_berth` (complete -F _berth berth): verbs and
// sub-verbs, every command's flags (global ones too), and as operands the names of
// containers (`berth ps -a`) and images (`berth images`) of the daemon and namespace the
// command line names with -H/-n. Hidden commands are left out.
std::string BashCompletion(const CLI::App& app);

// Markdown: the global options, then each command (sub-commands under their group) with its
// usage line, description, operands and options. A command registered again under a group
// (`container ls` for `ps`) points to the first one instead of repeating it.
std::string MarkdownReference(const CLI::App& app);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CLI_REFERENCE_H_
