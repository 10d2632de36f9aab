#include "services/daemon/daemon_main.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "common/log.h"
#include "common/server_process.h"
#include "services/daemon/daemon.h"
#include "services/daemon/daemon_config.h"
#include "spdlog/spdlog.h"

namespace berth::daemon {

int Main(int argc, char** argv) {
  // Before any thread exists: gRPC's threads inherit the mask; only sigwait below sees them.
  sigset_t stop = BlockStopSignals();
  // A crash (SIGSEGV, SIGABRT, ...) writes its stack to stderr, where the log goes, before
  // the default action: the one trace an operator can send us.
  absl::InitializeSymbolizer(argv[0]);
  absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions());

  std::string usage;
  absl::StatusOr<DaemonConfig> config = LoadDaemonConfig(argc, argv, &usage);
  if (!config.ok()) {
    if (config.status().code() == absl::StatusCode::kCancelled) {
      std::fputs(usage.c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "berthd: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  if (absl::Status st = InitLogging({.level = config->log_level, .format = config->log_format});
      !st.ok()) {
    std::fprintf(stderr, "berthd: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  if (!config->config_file.empty()) spdlog::info("read config {}", config->config_file);

  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Start(*std::move(config));
  if (!daemon.ok()) {
    // The logger writes to stderr (or the configured file), where operators look.
    spdlog::critical("{}", std::string(daemon.status().message()));
    return 1;
  }

  int sig = 0;
  sigwait(&stop, &sig);
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*daemon)->Shutdown();
  daemon->reset();
  spdlog::shutdown();
  // Everything berthd owns is released by now. What remains is gRPC's global teardown, which
  // waits about a second for its internal threads; nothing depends on it, so skip it.
  std::fflush(nullptr);
  _exit(0);
}

}  // namespace berth::daemon
