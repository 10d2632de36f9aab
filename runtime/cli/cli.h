#ifndef BERTH_RUNTIME_CLI_CLI_H_
#define BERTH_RUNTIME_CLI_CLI_H_

namespace berth::runtime::cli {

// berth-runtime's command line (runc's). Returns the exit code.
int Main(int argc, char** argv);

}  // namespace berth::runtime::cli

#endif  // BERTH_RUNTIME_CLI_CLI_H_
