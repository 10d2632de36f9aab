// berth.services.containers.v1.Containers: container records (id, name, image, OCI spec,
// snapshot, runtime, labels, extensions), per namespace, in the metadata database. A record
// is only a description; running it is the tasks service's job.
#ifndef BERTH_SERVICES_CONTAINERS_CONTAINERS_SERVICE_H_
#define BERTH_SERVICES_CONTAINERS_CONTAINERS_SERVICE_H_

#include <memory>

#include "absl/status/status.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "services/events/publisher.h"
#include "services/metadata/store.h"

namespace berth::services {

// Ids are directory and cgroup names later: letters, digits, '_', '-', '.', 1–76 bytes, not
// starting with a separator. Names are Docker's: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
absl::Status ValidateContainerId(const std::string& id);
absl::Status ValidateContainerName(const std::string& name);

class ContainersService final : public ::berth::services::containers::v1::Containers::Service {
 public:
  explicit ContainersService(std::shared_ptr<::berth::metadata::MetadataStore> md,
                             ::berth::events::Publisher publisher = {});

  grpc::Status Get(grpc::ServerContext* context,
                   const ::berth::services::containers::v1::GetContainerRequest* request,
                   ::berth::services::containers::v1::GetContainerResponse* response) override;
  grpc::Status List(grpc::ServerContext* context,
                    const ::berth::services::containers::v1::ListContainersRequest* request,
                    ::berth::services::containers::v1::ListContainersResponse* response) override;
  grpc::Status ListStream(
      grpc::ServerContext* context,
      const ::berth::services::containers::v1::ListContainersRequest* request,
      grpc::ServerWriter<::berth::services::containers::v1::ListContainerMessage>* writer) override;
  grpc::Status Create(
      grpc::ServerContext* context,
      const ::berth::services::containers::v1::CreateContainerRequest* request,
      ::berth::services::containers::v1::CreateContainerResponse* response) override;
  grpc::Status Update(
      grpc::ServerContext* context,
      const ::berth::services::containers::v1::UpdateContainerRequest* request,
      ::berth::services::containers::v1::UpdateContainerResponse* response) override;
  grpc::Status Delete(grpc::ServerContext* context,
                      const ::berth::services::containers::v1::DeleteContainerRequest* request,
                      google::protobuf::Empty* response) override;

 private:
  absl::Status ForEach(
      const std::string& ns, const google::protobuf::RepeatedPtrField<std::string>& filters,
      const std::function<absl::Status(::berth::services::containers::v1::Container)>& fn);

  std::shared_ptr<::berth::metadata::MetadataStore> md_;
  ::berth::events::Publisher publisher_;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_CONTAINERS_CONTAINERS_SERVICE_H_
