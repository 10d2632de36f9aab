// berth.services.version.v1.Version: which build of berthd is answering.
#ifndef BERTH_SERVICES_VERSION_VERSION_SERVICE_H_
#define BERTH_SERVICES_VERSION_VERSION_SERVICE_H_

#include "berth/services/version/v1/version.grpc.pb.h"

namespace berth::services {

class VersionService final : public berth::services::version::v1::Version::Service {
 public:
  grpc::Status Version(grpc::ServerContext* context, const google::protobuf::Empty* request,
                       berth::services::version::v1::VersionResponse* response) override;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_VERSION_VERSION_SERVICE_H_
