#include "services/check/check_service.h"

#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "spdlog/spdlog.h"

namespace berth::services {
namespace {

namespace pb = ::berth::services::check::v1;

// How long the repair waits for the API to come up before giving up on this start.
constexpr absl::Duration kReadyWait = absl::Seconds(60);

}  // namespace

CheckService::CheckService(std::shared_ptr<::berth::check::Checker> checker,
                           std::function<bool()> ready)
    : checker_(std::move(checker)), ready_(std::move(ready)) {
  repair_ = std::thread([this] { Repair(); });
}

CheckService::~CheckService() { Stop(); }

void CheckService::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (repair_.joinable()) repair_.join();
}

void CheckService::Repair() {
  const absl::Time give_up = absl::Now() + kReadyWait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (stopping_) break;
    }
    if (ready_()) {
      absl::MutexLock run(&run_mu_);
      absl::StatusOr<int> removed = checker_->RepairAfterCrash();
      if (!removed.ok()) {
        spdlog::warn("check: repairing after a crash: {}", std::string(removed.status().message()));
      } else if (*removed > 0) {
        spdlog::info("check: removed {} snapshot(s) that interrupted work left", *removed);
      }
      break;
    }
    if (absl::Now() > give_up) {
      spdlog::warn("check: the snapshots service never came up; no repair after a crash");
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  absl::MutexLock l(&mu_);
  repaired_ = true;
}

grpc::Status CheckService::Check(grpc::ServerContext*, const pb::CheckRequest* request,
                                 pb::CheckResponse* response) {
  {
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(&repaired_));
  }
  absl::MutexLock run(&run_mu_);
  absl::StatusOr<pb::CheckResponse> r = checker_->Run(request->fix());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

}  // namespace berth::services
