// berth.services.build.v1.Build: receives a build context and a Dockerfile, runs the build
// (builder.h) and streams its progress; Prune forgets the build cache.
#ifndef BERTH_SERVICES_BUILD_BUILD_SERVICE_H_
#define BERTH_SERVICES_BUILD_BUILD_SERVICE_H_

#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "berth/services/build/v1/build.grpc.pb.h"
#include "services/build/backend.h"
#include "services/build/cache.h"

namespace berth::services {

struct BuildServiceConfig {
  std::string root;                 // berthd's root: the service keeps <root>/build
  std::string default_snapshotter;  // when a request names none
  std::string runtime;              // what RUN containers run with (the daemon's default)
};

class BuildService final : public ::berth::services::build::v1::Build::Service {
 public:
  // Opens the cache and removes what builds interrupted by a crash left in <root>/build/tmp.
  // Waits for the removal of finished builds' directories.
  ~BuildService() override;

  static absl::StatusOr<std::unique_ptr<BuildService>> Create(
      BuildServiceConfig config, ::berth::build::ChannelSource channels);

  grpc::Status Build(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<::berth::services::build::v1::BuildResponse,
                               ::berth::services::build::v1::BuildRequest>* stream) override;
  grpc::Status Prune(grpc::ServerContext* context,
                     const ::berth::services::build::v1::PruneRequest* request,
                     ::berth::services::build::v1::PruneResponse* response) override;

 private:
  BuildService(BuildServiceConfig config, ::berth::build::ChannelSource channels,
               std::unique_ptr<::berth::build::BuildCache> cache)
      : config_(std::move(config)), channels_(std::move(channels)), cache_(std::move(cache)) {}

  absl::Status DoBuild(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<::berth::services::build::v1::BuildResponse,
                               ::berth::services::build::v1::BuildRequest>* stream);

  // Removes what builds that are no longer running (berthd died in the middle) left in the
  // namespace: RUN containers and their tasks, active snapshots and views.
  void CleanOrphans(::berth::build::Backend& backend);

  absl::Mutex mu_;
  std::set<std::string> running_ ABSL_GUARDED_BY(mu_);  // ids of builds in progress
  int removing_ ABSL_GUARDED_BY(mu_) = 0;               // directories being removed

  void RemoveLater(const std::string& dir);

  const BuildServiceConfig config_;
  const ::berth::build::ChannelSource channels_;
  const std::unique_ptr<::berth::build::BuildCache> cache_;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_BUILD_BUILD_SERVICE_H_
