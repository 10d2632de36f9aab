// berth.services.volumes.v1.Volumes: named directories that outlive containers (Docker's
// volumes), per namespace. Records are in the metadata database (volumes table); data is on
// disk under <root>/volumes/<namespace>/<name>/_data (local.h). Who uses a volume is read
// from the containers service: a container uses it when its record's kVolumesLabel names it, or
// when its spec bind-mounts the volume's _data directory.
#ifndef BERTH_SERVICES_VOLUMES_VOLUMES_SERVICE_H_
#define BERTH_SERVICES_VOLUMES_VOLUMES_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "berth/services/volumes/v1/volumes.grpc.pb.h"
#include "services/metadata/store.h"
#include "services/metadata/volume_records.h"
#include "services/volumes/local.h"

namespace berth::services {

class VolumesService final : public ::berth::services::volumes::v1::Volumes::Service {
 public:
  using ChannelSource = std::function<std::shared_ptr<grpc::Channel>(const std::string&)>;
  VolumesService(std::shared_ptr<::berth::metadata::MetadataStore> md, std::string root,
                 ChannelSource channels);

  grpc::Status Create(grpc::ServerContext* context,
                      const ::berth::services::volumes::v1::CreateVolumeRequest* request,
                      ::berth::services::volumes::v1::CreateVolumeResponse* response) override;
  grpc::Status Inspect(grpc::ServerContext* context,
                       const ::berth::services::volumes::v1::InspectVolumeRequest* request,
                       ::berth::services::volumes::v1::InspectVolumeResponse* response) override;
  grpc::Status List(grpc::ServerContext* context,
                    const ::berth::services::volumes::v1::ListVolumesRequest* request,
                    ::berth::services::volumes::v1::ListVolumesResponse* response) override;
  grpc::Status Remove(grpc::ServerContext* context,
                      const ::berth::services::volumes::v1::RemoveVolumeRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status Prune(grpc::ServerContext* context,
                     const ::berth::services::volumes::v1::PruneVolumesRequest* request,
                     ::berth::services::volumes::v1::PruneVolumesResponse* response) override;

 private:
  // Volume name → ids of the containers of `ns` that use it.
  absl::StatusOr<std::map<std::string, std::vector<std::string>>> Users(const std::string& ns);
  ::berth::services::volumes::v1::Volume ToProto(const ::berth::metadata::VolumeRow& row,
                                                 size_t users) const;
  absl::Status RemoveLocked(const std::string& ns, const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::shared_ptr<::berth::metadata::MetadataStore> md_;
  const std::string volumes_root_;
  ChannelSource channels_;
  // Create, Remove and Prune one at a time: each pairs a record with a directory.
  absl::Mutex mu_;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_VOLUMES_VOLUMES_SERVICE_H_
