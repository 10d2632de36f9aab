#include "e2e/harness/daemon.h"

#include <signal.h>

#include <algorithm>

namespace berth::e2e {

TestDaemon::TestDaemon(std::vector<std::string> extra) : TestDaemon(std::move(extra), {}) {}

TestDaemon::TestDaemon(std::vector<std::string> extra, std::vector<std::string> wrapper)
    : root_(tmp_.path() + "/root"), socket_(tmp_.path() + "/state/berthd.sock") {
  argv_ = std::move(wrapper);
  argv_.insert(argv_.end(), {Runfile("services/daemon/berthd"), "--root", root_, "--state",
                             tmp_.path() + "/state"});
  argv_.insert(argv_.end(), extra.begin(), extra.end());
  // Containers get no network unless a test asks for one: tests run side by side, and a
  // bridge on the host is shared by every daemon that uses its name.
  if (std::find(extra.begin(), extra.end(), "--default-network") == extra.end()) {
    argv_.insert(argv_.end(), {"--default-network", "none"});
  }
  Start();
}

int TestDaemon::Stop(int sig) { return child_->Stop(sig); }

bool TestDaemon::Start() {
  child_ = std::make_unique<Child>(argv_);
  started_ = WaitForListener(socket_, *child_);
  return started_;
}

bool TestDaemon::Restart() {
  Stop();
  return Start();
}

TestDaemon::~TestDaemon() { child_->Stop(SIGTERM); }

std::shared_ptr<grpc::Channel> TestDaemon::Channel() const {
  return grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials());
}

std::unique_ptr<grpc::ClientContext> TestDaemon::Context(const std::string& ns) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("berth-namespace", ns);
  return ctx;
}

}  // namespace berth::e2e
