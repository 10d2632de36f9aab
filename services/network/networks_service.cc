#include "services/network/networks_service.h"

#include "absl/strings/str_cat.h"
#include "common/filter.h"
#include "common/grpc_status.h"
#include "services/common/proto_time.h"
#include "services/common/request_metadata.h"

namespace berth::services {
namespace {

namespace pb = ::berth::services::networks::v1;
namespace net = ::berth::network;

void ToProto(const net::NetworkConfig& c, pb::Network* out) {
  out->set_name(c.name);
  out->set_id(c.id);
  out->set_driver("bridge");
  out->set_subnet(c.subnet);
  out->set_gateway(c.gateway);
  out->set_bridge(c.bridge);
  out->mutable_labels()->insert(c.labels.begin(), c.labels.end());
  if (c.created != absl::Time()) ::berth::services::ToProto(c.created, out->mutable_created_at());
  out->set_builtin(c.builtin);
}

}  // namespace

grpc::Status NetworksService::Create(grpc::ServerContext*, const pb::CreateNetworkRequest* request,
                                     pb::CreateNetworkResponse* response) {
  if (!request->driver().empty() && request->driver() != "bridge") {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("network driver \"", request->driver(),
                                     "\" is not available; berth has the bridge driver"));
  }
  absl::StatusOr<net::NetworkConfig> c = networks_->Create(
      request->name(), request->subnet(), {request->labels().begin(), request->labels().end()});
  if (!c.ok()) return ToGrpcStatus(c.status());
  ToProto(*c, response->mutable_network());
  return grpc::Status::OK;
}

grpc::Status NetworksService::Inspect(grpc::ServerContext* context,
                                      const pb::InspectNetworkRequest* request,
                                      pb::InspectNetworkResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<net::NetworkConfig> c = networks_->Get(request->name());
  if (!c.ok()) return ToGrpcStatus(c.status());
  ToProto(*c, response->mutable_network());
  for (const net::Endpoint& e : networks_->Endpoints(c->name)) {
    if (e.ns != *ns) continue;  // other namespaces' containers are not this caller's to see
    pb::EndpointInfo* info = response->add_endpoints();
    info->set_container_id(e.id);
    info->set_name(e.name);
    info->set_address(absl::StrCat(e.address, "/", e.prefix_length));
    info->set_interface(e.interface);
  }
  return grpc::Status::OK;
}

grpc::Status NetworksService::List(grpc::ServerContext*, const pb::ListNetworksRequest* request,
                                   pb::ListNetworksResponse* response) {
  absl::StatusOr<Filter> filter =
      Filter::Parse({request->filters().begin(), request->filters().end()});
  if (!filter.ok()) return ToGrpcStatus(filter.status());
  for (const net::NetworkConfig& c : networks_->List()) {
    const bool match =
        filter->Match([&](const std::vector<std::string>& f) -> absl::optional<std::string> {
          if (f.size() == 1 && f[0] == "name") return c.name;
          if (f.size() == 1 && f[0] == "id") return c.id;
          if (f.size() == 1 && f[0] == "driver") return std::string("bridge");
          if (f.size() == 2 && (f[0] == "labels" || f[0] == "label")) {
            auto it = c.labels.find(f[1]);
            if (it != c.labels.end()) return it->second;
          }
          return absl::nullopt;
        });
    if (match) ToProto(c, response->add_networks());
  }
  return grpc::Status::OK;
}

grpc::Status NetworksService::Remove(grpc::ServerContext*, const pb::RemoveNetworkRequest* request,
                                     google::protobuf::Empty*) {
  return ToGrpcStatus(networks_->Remove(request->name()));
}

grpc::Status NetworksService::Connect(grpc::ServerContext* context,
                                      const pb::ConnectRequest* request, google::protobuf::Empty*) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  return ToGrpcStatus(tasks_->ConnectNetwork(*ns, request->container_id(), request->network()));
}

grpc::Status NetworksService::Disconnect(grpc::ServerContext* context,
                                         const pb::DisconnectRequest* request,
                                         google::protobuf::Empty*) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  return ToGrpcStatus(tasks_->DisconnectNetwork(*ns, request->container_id(), request->network()));
}

}  // namespace berth::services
