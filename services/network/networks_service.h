// berth.services.networks.v1.Networks: bridge networks (NetworkManager) and, through the
// tasks' TaskManager, connecting running containers to them. Hosted beside the tasks service:
// both drive the same endpoints.
#ifndef BERTH_SERVICES_NETWORK_NETWORKS_SERVICE_H_
#define BERTH_SERVICES_NETWORK_NETWORKS_SERVICE_H_

#include <memory>

#include "berth/services/networks/v1/networks.grpc.pb.h"
#include "services/network/network_manager.h"
#include "services/tasks/task_manager.h"

namespace berth::services {

class NetworksService final : public ::berth::services::networks::v1::Networks::Service {
 public:
  NetworksService(std::shared_ptr<::berth::network::NetworkManager> networks,
                  std::shared_ptr<::berth::tasks::TaskManager> tasks)
      : networks_(std::move(networks)), tasks_(std::move(tasks)) {}

  grpc::Status Create(grpc::ServerContext* context,
                      const ::berth::services::networks::v1::CreateNetworkRequest* request,
                      ::berth::services::networks::v1::CreateNetworkResponse* response) override;
  grpc::Status Inspect(grpc::ServerContext* context,
                       const ::berth::services::networks::v1::InspectNetworkRequest* request,
                       ::berth::services::networks::v1::InspectNetworkResponse* response) override;
  grpc::Status List(grpc::ServerContext* context,
                    const ::berth::services::networks::v1::ListNetworksRequest* request,
                    ::berth::services::networks::v1::ListNetworksResponse* response) override;
  grpc::Status Remove(grpc::ServerContext* context,
                      const ::berth::services::networks::v1::RemoveNetworkRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status Connect(grpc::ServerContext* context,
                       const ::berth::services::networks::v1::ConnectRequest* request,
                       google::protobuf::Empty* response) override;
  grpc::Status Disconnect(grpc::ServerContext* context,
                          const ::berth::services::networks::v1::DisconnectRequest* request,
                          google::protobuf::Empty* response) override;

 private:
  std::shared_ptr<::berth::network::NetworkManager> networks_;
  std::shared_ptr<::berth::tasks::TaskManager> tasks_;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_NETWORK_NETWORKS_SERVICE_H_
