// berth.services.introspection.v1.Introspection: what this daemon is, which services it hosts
// and which it reaches elsewhere, and the state of its plugins.
#ifndef BERTH_SERVICES_INTROSPECTION_INTROSPECTION_SERVICE_H_
#define BERTH_SERVICES_INTROSPECTION_INTROSPECTION_SERVICE_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "berth/services/introspection/v1/introspection.grpc.pb.h"

namespace berth::services {

struct ServerFacts {
  std::string uuid;
  pid_t pid = 0;
  std::string root;
  std::string state;
  std::string address;
  absl::Time started_at;
  std::string log_level;
};

// One API service as this daemon sees it.
struct ServiceEndpoint {
  std::string name;       // short name, as in --services: "content"
  std::string grpc_name;  // "berth.services.content.v1.Content"
  bool local = true;
  std::string address;                     // remote only
  std::shared_ptr<grpc::Channel> channel;  // remote only: used to probe reachability
};

// Plugins that are not API services (snapshotters, …), described when Plugins is called, so
// their status is the current one.
using PluginSource = std::function<std::vector<berth::services::introspection::v1::Plugin>()>;

class IntrospectionService final
    : public berth::services::introspection::v1::Introspection::Service {
 public:
  IntrospectionService(ServerFacts facts, std::vector<ServiceEndpoint> services,
                       PluginSource plugins = nullptr);

  grpc::Status Plugins(grpc::ServerContext* context,
                       const berth::services::introspection::v1::PluginsRequest* request,
                       berth::services::introspection::v1::PluginsResponse* response) override;
  grpc::Status Server(grpc::ServerContext* context, const google::protobuf::Empty* request,
                      berth::services::introspection::v1::ServerResponse* response) override;
  grpc::Status Services(grpc::ServerContext* context, const google::protobuf::Empty* request,
                        berth::services::introspection::v1::ServicesResponse* response) override;

 private:
  const ServerFacts facts_;
  const std::vector<ServiceEndpoint> services_;
  const PluginSource plugins_;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_INTROSPECTION_INTROSPECTION_SERVICE_H_
