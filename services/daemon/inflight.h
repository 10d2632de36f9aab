// Counts the RPCs a server is running, so that shutdown can wait for them and no longer.
//
// gRPC's Server::Shutdown(deadline) waits for every client connection to close, idle ones
// included, so a connected orchestrator would hold every shutdown to the full deadline. With
// this count the daemon waits only while calls are actually running, then shuts down at once.
// Watches (event subscriptions, Wait, Attach, Logs) are not counted: they end when what they
// watch ends, so shutdown cancels them rather than wait.
#ifndef BERTH_SERVICES_DAEMON_INFLIGHT_H_
#define BERTH_SERVICES_DAEMON_INFLIGHT_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace berth::daemon {

class InflightCounter {
 public:
  // An interceptor factory for ServerBuilder::experimental().SetInterceptorCreators. The
  // counter must outlive the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> Factory();

  // Waits until no call is running or `timeout` passes. True when none is running.
  bool WaitIdle(absl::Duration timeout);
  int count();

  void Add(int delta);

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace berth::daemon

#endif  // BERTH_SERVICES_DAEMON_INFLIGHT_H_
