// berth info: what the daemon is, where its services live, and its plugins.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "absl/time/time.h"
#include "berth/services/introspection/v1/introspection.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::introspection::v1;

int RunInfo(const GlobalOptions& global) {
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  auto stub = pb::Introspection::NewStub((*client)->channel());

  pb::ServerResponse server;
  if (grpc::Status st = stub->Server((*client)->Context().get(), {}, &server); !st.ok()) {
    return ReportError(CallError(**client, st));
  }
  pb::ServicesResponse services;
  if (grpc::Status st = stub->Services((*client)->Context().get(), {}, &services); !st.ok()) {
    return ReportError(CallError(**client, st));
  }
  pb::PluginsResponse plugins;
  if (grpc::Status st = stub->Plugins((*client)->Context().get(), {}, &plugins); !st.ok()) {
    return ReportError(CallError(**client, st));
  }

  absl::Time started = absl::FromUnixSeconds(server.started_at().seconds());
  std::printf(
      "Server:\n ID:          %s\n PID:         %u\n Root Dir:    %s\n State Dir:   %s\n"
      " Address:     %s\n Started:     %s\n Log Level:   %s\n Namespace:   %s\n",
      server.uuid().c_str(), server.pid(), server.root().c_str(), server.state().c_str(),
      server.address().c_str(),
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", started, absl::UTCTimeZone()).c_str(),
      server.log_level().c_str(), global.ns.c_str());
  std::printf("Services:\n");
  for (const pb::ServiceInfo& s : services.services()) {
    if (s.local()) {
      std::printf(" %-48s local\n", s.name().c_str());
    } else {
      std::printf(" %-48s remote %s (%s)\n", s.name().c_str(), s.address().c_str(),
                  s.reachable() ? "reachable" : "unreachable");
    }
  }
  std::printf("Plugins:\n");
  for (const pb::Plugin& p : plugins.plugins()) {
    std::printf(" %-24s %-16s %s\n", p.type().c_str(), p.id().c_str(),
                pb::PluginStatus_Name(p.status()).c_str() + sizeof("PLUGIN_STATUS_") - 1);
  }
  return 0;
}

}  // namespace

void AddInfoCommand(CLI::App& app, Run* run) {
  app.add_subcommand("info", "Display system-wide information")->callback([run] {
    *run = RunInfo;
  });
}

}  // namespace berth::ctl
