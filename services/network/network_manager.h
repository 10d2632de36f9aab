// Container networking without iptables: Linux bridges, a veth pair per container and
// network, addresses from each network's subnet, and the per-container /etc/hosts,
// /etc/hostname and /etc/resolv.conf. Published ports are forwarded by the container's shim
// (docs/shim.md), so nothing here touches the host's firewall.
//
// On disk, under <root>/networks/:
//   <name>/network.json                     a user-defined network (the default "bridge" is
//                                           built in, from the daemon's config)
//   <name>/ips/<address>                    one file per allocated address: "<ns>/<id>"
//   <name>/endpoints/<ns>/<id>.json         a container's endpoint on that network
// Allocation is an O_EXCL create, so two containers can never get one address.
#ifndef BERTH_SERVICES_NETWORK_NETWORK_MANAGER_H_
#define BERTH_SERVICES_NETWORK_NETWORK_MANAGER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace berth::network {

inline constexpr char kDefaultNetwork[] = "bridge";

struct NetworkConfig {
  std::string name;
  std::string id;       // 64 hex, stable
  std::string subnet;   // 10.88.0.0/16
  std::string gateway;  // 10.88.0.1 (on the bridge)
  std::string bridge;   // berth0, or br-<12 hex>
  std::map<std::string, std::string> labels;
  absl::Time created;
  bool builtin = false;
};

struct Endpoint {
  std::string network;
  std::string ns, id;  // the container
  std::string name;    // the container's name, for peers' /etc/hosts
  std::string hostname;
  std::string address;  // 10.88.0.5
  int prefix_length = 16;
  std::string gateway;
  std::string interface;   // eth0, eth1…
  std::string host_veth;   // its peer on the host, attached to the bridge
  std::string hosts_file;  // the container's /etc/hosts, rewritten when peers come and go
};

// What a container's task needs from networking before its runtime creates it.
struct ContainerFiles {
  std::string hosts, hostname, resolv_conf;  // host paths to bind-mount into the container
};

class NetworkManager {
 public:
  // `dir` is <root>/networks; the default bridge network uses `default_subnet` and `bridge`.
  NetworkManager(std::string dir, std::string default_subnet, std::string default_bridge);

  absl::StatusOr<NetworkConfig> Create(const std::string& name, const std::string& subnet,
                                       const std::map<std::string, std::string>& labels);
  // By name, id or unique id prefix.
  absl::StatusOr<NetworkConfig> Get(const std::string& ref);
  std::vector<NetworkConfig> List();
  // FAILED_PRECONDITION naming the containers still on it; the built-in one cannot go.
  absl::Status Remove(const std::string& ref);
  std::vector<Endpoint> Endpoints(const std::string& network);

  // Gives container ns/id an address on `network` (reusing the one it has), as `interface`.
  absl::StatusOr<Endpoint> Allocate(const std::string& network, const std::string& ns,
                                    const std::string& id, const std::string& name,
                                    const std::string& hostname, const std::string& interface,
                                    const std::string& hosts_file);
  // Wires the endpoint into the container's network namespace (`netns`: /proc/PID/ns/net):
  // the bridge (made on first use), the veth pair, address, default route (on eth0), lo up.
  absl::Status Plumb(const Endpoint& e, const std::string& netns);
  // Takes the container off the network: its veth, address and endpoint go, and the peers'
  // /etc/hosts forget it. Missing pieces are not an error.
  absl::Status Release(const std::string& network, const std::string& ns, const std::string& id);
  // Every network the container has an endpoint on.
  std::vector<Endpoint> EndpointsOf(const std::string& ns, const std::string& id);

  // Writes the container's /etc/hosts, /etc/hostname and /etc/resolv.conf into `dir`.
  // `endpoints` are the container's own (first is primary); with none, only localhost.
  absl::StatusOr<ContainerFiles> WriteFiles(const std::string& dir, const std::string& hostname,
                                            const std::vector<Endpoint>& endpoints);
  // Rewrites the /etc/hosts of every container on `network` (peers by name, user-defined
  // networks only, as Docker's default bridge has no name resolution).
  void RefreshHosts(const std::string& network);

 private:
  std::string NetworkDir(const std::string& name) const;
  absl::StatusOr<NetworkConfig> Load(const std::string& name);
  std::string HostsContent(const Endpoint& self, const std::vector<Endpoint>& own);
  absl::Status EnsureBridge(const NetworkConfig& net);

  const std::string dir_;
  const std::string default_subnet_, default_bridge_;
  absl::Mutex mu_;  // serializes allocations and hosts rewrites
};

}  // namespace berth::network

#endif  // BERTH_SERVICES_NETWORK_NETWORK_MANAGER_H_
