#ifndef BERTH_SERVICES_DAEMON_DAEMON_MAIN_H_
#define BERTH_SERVICES_DAEMON_DAEMON_MAIN_H_

namespace berth::daemon {

// berthd's whole life: parse settings, start, serve until SIGTERM or SIGINT, stop cleanly.
// Returns the process exit code.
int Main(int argc, char** argv);

}  // namespace berth::daemon

#endif  // BERTH_SERVICES_DAEMON_DAEMON_MAIN_H_
