// The table of API services berthd knows, and how each is wired. A service that this process
// hosts is built by its factory and registered on the server; every other service is reached
// at the address config gives under `remote:`. Services talk to each other only through the
// channels handed out here: in-process channels for local ones, sockets for remote ones, so
// the split layout differs from the single-process one in config alone.
#ifndef BERTH_SERVICES_DAEMON_REGISTRY_H_
#define BERTH_SERVICES_DAEMON_REGISTRY_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/content/local/local_store.h"
#include "services/daemon/daemon_config.h"
#include "services/events/exchange.h"
#include "services/introspection/introspection_service.h"
#include "services/metadata/store.h"
#include "services/network/network_manager.h"
#include "services/tasks/task_manager.h"
#include "snapshotter/snapshotter.h"

namespace berth::daemon {

// Hands out a channel to any service by short name. Local channels exist only once the server
// has started, so services ask at request time, not at construction.
//
// gRPC crashes when a call is created on the in-process channel of a server that is shutting
// down, so the daemon closes this first: Close stops lending the in-process channel, runs the
// OnClose callbacks (services end their own threads' long calls there) and waits until every
// channel lent is given back, that is, until no call on it can start any more.
class Channels {
 public:
  void SetServer(grpc::Server* server);
  void AddRemote(const std::string& name, std::shared_ptr<grpc::Channel> channel);
  // Null when the service is neither hosted here nor configured as remote, and for local
  // services before the server starts or once Close began.
  std::shared_ptr<grpc::Channel> Get(const std::string& name);
  void MarkLocal(const std::string& name);
  void OnClose(std::function<void()> fn);
  // False when channels were still lent out after `timeout`.
  bool Close(absl::Duration timeout);

 private:
  absl::Mutex mu_;
  grpc::Server* server_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::shared_ptr<grpc::Channel> in_process_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int lent_ ABSL_GUARDED_BY(mu_) = 0;  // in-process channels handed out and not yet released
  std::vector<std::function<void()>> on_close_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, bool> local_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<grpc::Channel>> remote_ ABSL_GUARDED_BY(mu_);
};

// One snapshotter as introspection reports it.
struct SnapshotterInfo {
  std::string name;
  std::string root;                        // built-in: its directory
  std::string address;                     // proxy: where its process serves the snapshots API
  absl::Status error;                      // why it could not be set up (then it is not offered)
  std::shared_ptr<grpc::Channel> channel;  // proxy: probed to tell whether it answers
};

// What the services hosted in one process share, made on first use: the metadata database of
// the root (content, leases and, later, images and containers all keep their records there).
class SharedState {
 public:
  absl::StatusOr<std::shared_ptr<metadata::MetadataStore>> Metadata(const std::string& root);
  // The content store of the root, shared by the content and images services (one store, so
  // one commit lock against the collector's sweep).
  // Its abandoned ingests (config's ingest_expiry) are removed when it opens.
  absl::StatusOr<std::shared_ptr<content::local::LocalContentStore>> Content(
      const DaemonConfig& config);
  // The built-in snapshotters, each under <root>/snapshots/<name> (native always, overlayfs
  // where the kernel has overlay), and a proxy for each of config's proxy_snapshotters. One
  // that fails to set up is left out (SnapshotterInfos says why), so the others still serve.
  absl::StatusOr<std::map<std::string, std::shared_ptr<::berth::snapshotter::Snapshotter>>>
  Snapshotters(const DaemonConfig& config);
  // Every snapshotter Snapshotters tried to set up, with its outcome.
  std::vector<SnapshotterInfo> SnapshotterInfos(const DaemonConfig& config);
  // The event bus that the events service serves.
  std::shared_ptr<events::Exchange> Exchange();
  // The bridge networks, and the tasks (which the networks service connects to them).
  std::shared_ptr<network::NetworkManager> Networks(const DaemonConfig& config);
  absl::StatusOr<std::shared_ptr<tasks::TaskManager>> Tasks(const DaemonConfig& config,
                                                            Channels* channels);

 private:
  std::shared_ptr<metadata::MetadataStore> metadata_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<content::local::LocalContentStore> content_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<events::Exchange> exchange_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<network::NetworkManager> networks_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<tasks::TaskManager> tasks_ ABSL_GUARDED_BY(mu_);
  void InitSnapshottersLocked(const DaemonConfig& config) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  bool snapshotters_init_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::shared_ptr<::berth::snapshotter::Snapshotter>> snapshotters_
      ABSL_GUARDED_BY(mu_);
  std::vector<SnapshotterInfo> snapshotter_infos_ ABSL_GUARDED_BY(mu_);
};

// Introspection's view of the snapshotters: type berth.snapshotter.v1, id = name, status OK
// (exports root), ERROR (init_error) or REMOTE (exports address and reachable).
std::vector<berth::services::introspection::v1::Plugin> SnapshotterPlugins(
    const std::vector<SnapshotterInfo>& infos);

struct ServiceContext {
  const DaemonConfig& config;
  services::ServerFacts facts;
  std::vector<services::ServiceEndpoint> endpoints;  // every known service, local or remote
  Channels* channels;
  std::shared_ptr<SharedState> shared = std::make_shared<SharedState>();
};

struct ServiceDef {
  std::string name;       // as in --services and remote:
  std::string grpc_name;  // full gRPC service name
  std::function<absl::StatusOr<std::unique_ptr<grpc::Service>>(ServiceContext&)> make;
};

const std::vector<ServiceDef>& ServiceDefs();

// Checks --services and remote: against the known names.
absl::Status ValidateServiceSelection(const DaemonConfig& config);

// The credentials to dial a remote service at `address` (TLS with our client cert for TCP).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(
    const DaemonConfig& config, const std::string& address);

}  // namespace berth::daemon

#endif  // BERTH_SERVICES_DAEMON_REGISTRY_H_
