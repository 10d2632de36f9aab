// berth.services.leases.v1.Leases over the metadata database. Deleting a lease runs garbage
// collection, so what only it held goes at once.
#ifndef BERTH_SERVICES_LEASES_LEASES_SERVICE_H_
#define BERTH_SERVICES_LEASES_LEASES_SERVICE_H_

#include <memory>

#include "berth/services/leases/v1/leases.grpc.pb.h"
#include "services/metadata/store.h"

namespace berth::services {

class LeasesService final : public berth::services::leases::v1::Leases::Service {
 public:
  explicit LeasesService(std::shared_ptr<metadata::MetadataStore> md);

  grpc::Status Create(grpc::ServerContext* context,
                      const berth::services::leases::v1::CreateRequest* request,
                      berth::services::leases::v1::CreateResponse* response) override;
  grpc::Status Delete(grpc::ServerContext* context,
                      const berth::services::leases::v1::DeleteRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status List(grpc::ServerContext* context,
                    const berth::services::leases::v1::ListRequest* request,
                    berth::services::leases::v1::ListResponse* response) override;
  grpc::Status AddResource(grpc::ServerContext* context,
                           const berth::services::leases::v1::AddResourceRequest* request,
                           google::protobuf::Empty* response) override;
  grpc::Status DeleteResource(grpc::ServerContext* context,
                              const berth::services::leases::v1::DeleteResourceRequest* request,
                              google::protobuf::Empty* response) override;
  grpc::Status ListResources(grpc::ServerContext* context,
                             const berth::services::leases::v1::ListResourcesRequest* request,
                             berth::services::leases::v1::ListResourcesResponse* response) override;

 private:
  const std::shared_ptr<metadata::MetadataStore> md_;
};

// Lease ids: 1..256 bytes of letters, digits and ._-:/ (they show up in logs and filters).
absl::Status ValidateLeaseId(const std::string& id);
// A resource a lease may hold: "content" (a digest), "ingests" (a ref) or
// "snapshots/<snapshotter>" (a key).
absl::Status ValidateLeaseResource(const std::string& type, const std::string& id);

}  // namespace berth::services

#endif  // BERTH_SERVICES_LEASES_LEASES_SERVICE_H_
