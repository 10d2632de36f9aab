// berth.services.check.v1.Check: runs the Checker for `berth system check`, and once, in the
// background as berthd starts serving, removes what a crash of the previous daemon left that
// nothing else would (Checker::RepairAfterCrash). A check waits for that repair, so it never
// reports what the repair is about to remove.
#ifndef BERTH_SERVICES_CHECK_CHECK_SERVICE_H_
#define BERTH_SERVICES_CHECK_CHECK_SERVICE_H_

#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "berth/services/check/v1/check.grpc.pb.h"
#include "services/check/checker.h"

namespace berth::services {

class CheckService final : public ::berth::services::check::v1::Check::Service {
 public:
  // `ready` says whether the services the repair calls can be reached yet.
  CheckService(std::shared_ptr<::berth::check::Checker> checker, std::function<bool()> ready);
  ~CheckService() override;

  // Ends the repair thread (its calls fail fast once the daemon's channels are closed).
  void Stop();

  grpc::Status Check(grpc::ServerContext* context,
                     const ::berth::services::check::v1::CheckRequest* request,
                     ::berth::services::check::v1::CheckResponse* response) override;

 private:
  void Repair();

  const std::shared_ptr<::berth::check::Checker> checker_;
  const std::function<bool()> ready_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool repaired_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex run_mu_;  // one check at a time: two --fix runs would race for the same objects
  std::thread repair_;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_CHECK_CHECK_SERVICE_H_
