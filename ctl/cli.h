#ifndef BERTH_CTL_CLI_H_
#define BERTH_CTL_CLI_H_

namespace berth::ctl {

// The berth command line: global options, then one verb. Returns the exit code.
int Main(int argc, char** argv);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CLI_H_
