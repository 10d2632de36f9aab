// A running berthd: its root lock, its listening socket and the services behind it.
#ifndef BERTH_SERVICES_DAEMON_DAEMON_H_
#define BERTH_SERVICES_DAEMON_DAEMON_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/address.h"
#include "services/daemon/daemon_config.h"
#include "services/daemon/inflight.h"
#include "services/daemon/registry.h"
#include "services/daemon/root_lock.h"

namespace berth::daemon {

class Daemon {
 public:
  // Creates root and state, takes the root lock, wires the services and starts listening.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(DaemonConfig config);

  // Stops accepting calls, gives running ones a moment to finish, and removes the socket.
  void Shutdown();

  ~Daemon();

 private:
  Daemon(DaemonConfig config, RootLock lock, Address address)
      : config_(std::move(config)), lock_(std::move(lock)), address_(std::move(address)) {}

  absl::Status Listen();

  DaemonConfig config_;
  RootLock lock_;
  Address address_;
  Channels channels_;
  InflightCounter inflight_;  // outlives server_, whose interceptors point at it
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace berth::daemon

#endif  // BERTH_SERVICES_DAEMON_DAEMON_H_
