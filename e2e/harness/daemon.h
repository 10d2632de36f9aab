// A berthd for a test: the real binary on its own root, state and socket under a short /tmp
// directory, stopped (by its pid) and cleaned up when the object goes.
#ifndef BERTH_E2E_HARNESS_DAEMON_H_
#define BERTH_E2E_HARNESS_DAEMON_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "e2e/harness/process.h"

namespace berth::e2e {

class TestDaemon {
 public:
  // Starts berthd with `extra` flags and waits for its socket. started() says whether it did.
  explicit TestDaemon(std::vector<std::string> extra = {});
  // The same, with berthd started through `wrapper` (a command that ends by running its
  // arguments, e.g. unshare(1)); the daemon must keep the wrapper's pid (exec).
  TestDaemon(std::vector<std::string> extra, std::vector<std::string> wrapper);
  ~TestDaemon();

  bool started() const { return started_; }
  // Stops berthd with `sig` and returns its exit code (128+signal if killed).
  int Stop(int sig = 15 /* SIGTERM */);
  // Starts it again on the same root, state and flags; true once it listens.
  bool Start();
  // Stop(SIGTERM), then Start().
  bool Restart();
  const std::string& root() const { return root_; }
  std::string state() const { return tmp_.path() + "/state"; }
  const std::string& socket() const { return socket_; }
  std::string Stderr() const { return child_->Stderr(); }
  // A channel to the daemon, and a call context carrying `ns` as berth-namespace.
  std::shared_ptr<grpc::Channel> Channel() const;
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& ns = "default");

 private:
  ShortTempDir tmp_{"berth-d"};
  std::string root_, socket_;
  std::vector<std::string> argv_;
  std::unique_ptr<Child> child_;
  bool started_ = false;
};

}  // namespace berth::e2e

#endif  // BERTH_E2E_HARNESS_DAEMON_H_
