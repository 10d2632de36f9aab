// berthd's settings: built-in defaults, then /etc/berth/config.yaml (or --config), then flags.
#ifndef BERTH_SERVICES_DAEMON_DAEMON_CONFIG_H_
#define BERTH_SERVICES_DAEMON_DAEMON_CONFIG_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::daemon {

inline constexpr char kDefaultConfigPath[] = "/etc/berth/config.yaml";

struct TlsConfig {
  std::string cert;  // PEM server certificate chain
  std::string key;   // PEM private key
  std::string ca;    // PEM CA that client certificates must chain to
  bool enabled() const { return !cert.empty() || !key.empty() || !ca.empty(); }
};

// A snapshotter in another process that serves the snapshots API (e.g. berth-snapshotter).
struct ProxySnapshotterConfig {
  std::string address;  // unix:///PATH
};

struct DaemonConfig {
  std::string config_file;  // the file that was read, if any
  std::string root = "/var/lib/berth";
  std::string state = "/run/berth";
  // Empty until resolved: then the configured address, or unix://<state>/berthd.sock.
  std::string address;
  std::string log_level = "info";
  std::string log_format = "text";
  // Short names of the services this process hosts; empty means all of them.
  std::vector<std::string> services;
  // Where to reach services this process does not host: short name → address.
  std::map<std::string, std::string> remote;
  TlsConfig tls;
  // The group that may use the unix socket (a name or a number): the socket is 0660 and
  // root's group unless this names another. Like Docker's `group`; members can do anything
  // root can through the API.
  std::string socket_group;
  // The snapshotter used when a request names none: overlayfs or native.
  std::string snapshotter = "overlayfs";
  // Snapshotters in other processes, by the name requests use.
  std::map<std::string, ProxySnapshotterConfig> proxy_snapshotters;
  // The berth-shim binary; empty means the one beside berthd, else berth-shim on PATH.
  std::string shim;
  // The OCI runtime a container gets when its record names none, and the runtimes by name
  // (name → binary). A name not listed is looked up on PATH.
  std::string default_runtime = "berth-runtime";
  std::map<std::string, std::string> runtimes;
  // Networking: the network a container gets when its record asks for "default" (bridge,
  // none or host; berth's CLI asks for it unless --network says otherwise), and the built-in
  // bridge network's Linux bridge and subnet.
  std::string default_network = "bridge";
  std::string bridge_name = "berth0";
  std::string bridge_subnet = "10.88.0.0/16";
  // Container logs: rotate at this many bytes (0: never) and keep this many files in all.
  int64_t log_max_size = 0;
  int64_t log_max_files = 1;
  // Registries (docs/registries.md): mirrors tried before registry-1.docker.io for docker.io
  // images; HOST[:PORT] or CIDR entries reached without TLS verification (or plain HTTP);
  // the certs.d tree of per-registry CAs and client certificates; parallel transfers.
  std::vector<std::string> registry_mirrors;
  std::vector<std::string> insecure_registries;
  std::string registry_certs_dir = "/etc/berth/certs.d";
  int64_t max_concurrent_downloads = 3;
  int64_t max_concurrent_uploads = 3;
  // An ingest (a blob write in flight) untouched this long and held by no lease is removed
  // at start and by garbage collection (docs/content.md). A duration: "24h", "90m", "30s";
  // "0" never expires them.
  std::string ingest_expiry = "24h";
  // How long each OCI runtime command (create, start, kill, delete…) that a shim runs may
  // take before the shim kills it and fails the request (docs/reliability.md). A duration
  // above 0: "60s", "2m".
  std::string runtime_timeout = "60s";
};

// Parses berthd's command line, reads the config file, and returns the merged settings. Flags
// win over the file. The default config file may be absent; one named by --config may not.
// `usage` receives the help text when --help is given (and the result is then an error with
// code kCancelled, which callers treat as "exit 0").
absl::StatusOr<DaemonConfig> LoadDaemonConfig(int argc, const char* const* argv,
                                              std::string* usage);

// The gid of `group` (a group name, else a number). INVALID_ARGUMENT if there is no such group.
absl::StatusOr<gid_t> ResolveSocketGroup(const std::string& group);

// Checks values that parsing alone cannot: absolute paths, address syntax, TLS completeness.
absl::Status ValidateDaemonConfig(const DaemonConfig& config);

}  // namespace berth::daemon

#endif  // BERTH_SERVICES_DAEMON_DAEMON_CONFIG_H_
