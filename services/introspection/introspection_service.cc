#include "services/introspection/introspection_service.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/strings/ascii.h"
#include "common/filter.h"
#include "common/grpc_status.h"

namespace berth::services {
namespace {

namespace pb = berth::services::introspection::v1;

// How long Services waits for a remote service's socket before calling it unreachable.
constexpr auto kProbeTimeout = std::chrono::milliseconds(300);

std::string StatusName(pb::PluginStatus s) {
  // PLUGIN_STATUS_OK → "ok": the short form people type in filters.
  std::string name = pb::PluginStatus_Name(s);
  return absl::AsciiStrToLower(name.substr(sizeof("PLUGIN_STATUS_") - 1));
}

absl::optional<std::string> PluginField(const pb::Plugin& p, const std::vector<std::string>& f) {
  if (f.size() == 1 && f[0] == "type") return p.type();
  if (f.size() == 1 && f[0] == "id") return p.id();
  if (f.size() == 1 && f[0] == "status") return StatusName(p.status());
  if (f.size() == 2 && f[0] == "exports") {
    auto it = p.exports().find(f[1]);
    if (it != p.exports().end()) return it->second;
  }
  return absl::nullopt;
}

}  // namespace

IntrospectionService::IntrospectionService(ServerFacts facts, std::vector<ServiceEndpoint> services,
                                           PluginSource plugins)
    : facts_(std::move(facts)), services_(std::move(services)), plugins_(std::move(plugins)) {}

grpc::Status IntrospectionService::Plugins(grpc::ServerContext*, const pb::PluginsRequest* request,
                                           pb::PluginsResponse* response) {
  absl::StatusOr<Filter> filter =
      Filter::Parse({request->filters().begin(), request->filters().end()});
  if (!filter.ok()) return ToGrpcStatus(filter.status());
  auto add = [&](pb::Plugin p) {
    if (filter->Match([&p](const std::vector<std::string>& f) { return PluginField(p, f); })) {
      *response->add_plugins() = std::move(p);
    }
  };
  for (const ServiceEndpoint& s : services_) {
    pb::Plugin p;
    p.set_type("berth.grpc.v1");
    p.set_id(s.name);
    (*p.mutable_exports())["service"] = s.grpc_name;
    if (s.local) {
      p.set_status(pb::PLUGIN_STATUS_OK);
    } else {
      p.set_status(pb::PLUGIN_STATUS_REMOTE);
      (*p.mutable_exports())["address"] = s.address;
    }
    add(std::move(p));
  }
  if (plugins_ != nullptr) {
    for (pb::Plugin& p : plugins_()) add(std::move(p));
  }
  return grpc::Status::OK;
}

grpc::Status IntrospectionService::Server(grpc::ServerContext*, const google::protobuf::Empty*,
                                          pb::ServerResponse* response) {
  response->set_uuid(facts_.uuid);
  response->set_pid(static_cast<uint32_t>(facts_.pid));
  response->set_root(facts_.root);
  response->set_state(facts_.state);
  response->set_address(facts_.address);
  response->set_log_level(facts_.log_level);
  const int64_t nanos = absl::ToUnixNanos(facts_.started_at);
  response->mutable_started_at()->set_seconds(nanos / 1000000000);
  response->mutable_started_at()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return grpc::Status::OK;
}

grpc::Status IntrospectionService::Services(grpc::ServerContext*, const google::protobuf::Empty*,
                                            pb::ServicesResponse* response) {
  for (const ServiceEndpoint& s : services_) {
    pb::ServiceInfo* info = response->add_services();
    info->set_name(s.grpc_name);
    info->set_local(s.local);
    if (s.local) continue;
    info->set_address(s.address);
    info->set_reachable(
        s.channel != nullptr &&
        s.channel->WaitForConnected(std::chrono::system_clock::now() + kProbeTimeout));
  }
  return grpc::Status::OK;
}

}  // namespace berth::services
