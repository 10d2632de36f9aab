#include "services/daemon/inflight.h"

#include <cstring>

namespace berth::daemon {
namespace {

// Calls that watch rather than work: they last as long as what they watch (an event stream, a
// process, a terminal), so shutdown cancels them instead of waiting.
bool IsWatch(const char* method) {
  static constexpr const char* kWatches[] = {
      "/berth.services.events.v1.Events/Subscribe",
      "/berth.services.tasks.v1.Tasks/Wait",
      "/berth.services.tasks.v1.Tasks/Attach",
      "/berth.services.tasks.v1.Tasks/Logs",
  };
  for (const char* w : kWatches) {
    if (method != nullptr && std::strcmp(method, w) == 0) return true;
  }
  return false;
}

// gRPC makes one interceptor per call and deletes it when the call ends, so the object's
// lifetime is the call's.
class CountingInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit CountingInterceptor(InflightCounter* counter) : counter_(counter) {
    if (counter_ != nullptr) counter_->Add(1);
  }
  ~CountingInterceptor() override {
    if (counter_ != nullptr) counter_->Add(-1);
  }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  InflightCounter* counter_;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(InflightCounter* counter) : counter_(counter) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CountingInterceptor(IsWatch(info->method()) ? nullptr : counter_);
  }

 private:
  InflightCounter* counter_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InflightCounter::Factory() {
  return std::make_unique<daemon::Factory>(this);
}

void InflightCounter::Add(int delta) {
  absl::MutexLock l(&mu_);
  count_ += delta;
}

int InflightCounter::count() {
  absl::MutexLock l(&mu_);
  return count_;
}

bool InflightCounter::WaitIdle(absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ == 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

}  // namespace berth::daemon
