// Where a registry named in an image reference is reached, and how: the endpoints to try in
// order (docker.io's mirrors, then registry-1.docker.io), HTTPS or plain HTTP, and the TLS
// material from the daemon's config and from certs.d, laid out as Docker's:
//
//   <certs_dir>/                  /etc/berth/certs.d by default (config: registry_certs_dir)
//     HOST[:PORT]/
//       *.crt                     CAs trusted for this registry, beside the system store
//       client.cert, client.key   a client certificate presented to it (any NAME.cert with
//                                 NAME.key)
#ifndef BERTH_SERVICES_IMAGES_REGISTRY_HOSTS_H_
#define BERTH_SERVICES_IMAGES_REGISTRY_HOSTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/images/registry/http.h"

namespace berth::registry {

inline constexpr char kDefaultCertsDir[] = "/etc/berth/certs.d";
// The name references use, and the host that actually serves it.
inline constexpr char kDockerHubDomain[] = "docker.io";
inline constexpr char kDockerHubHost[] = "registry-1.docker.io";

struct HostsConfig {
  // Base URLs ("https://mirror.example.com", "http://10.0.0.5:5000") tried, in order, before
  // registry-1.docker.io for images of docker.io.
  std::vector<std::string> mirrors;
  // HOST[:PORT] or IPv4 CIDR ("10.0.0.0/8"): reached over HTTPS without verifying the
  // certificate, or else over plain HTTP.
  std::vector<std::string> insecure;
  std::string certs_dir = kDefaultCertsDir;
};

struct Endpoint {
  std::string scheme;  // "https" or "http"
  std::string host;    // HOST[:PORT] as it goes in URLs
  std::string path;    // a mirror's path prefix ("" or "/prefix"), no trailing slash
  TlsOptions tls;
  bool mirror = false;
  // Try the next endpoint when this one cannot be reached (mirrors; HTTPS before the plain
  // HTTP fallback of a loopback or insecure registry).
  bool fallback_on_error = false;

  std::string Base() const { return scheme + "://" + host + path; }
};

// The endpoints for `domain` (as a reference names it: "docker.io", "localhost:5000").
// `plain_http` and `skip_verify` are a request's own overrides. A loopback registry
// (localhost, 127.0.0.0/8, [::1]) is tried over verified HTTPS, then plain HTTP, as Docker
// allows; an insecure one over unverified HTTPS, then plain HTTP.
absl::StatusOr<std::vector<Endpoint>> EndpointsFor(const HostsConfig& config,
                                                   absl::string_view domain, bool plain_http,
                                                   bool skip_verify);

// True when `domain` (HOST[:PORT]) is loopback, or listed (or inside a CIDR listed) in
// `insecure`.
bool IsLoopback(absl::string_view domain);
bool IsInsecure(const std::vector<std::string>& insecure, absl::string_view domain);

// Reads <certs_dir>/<host>/ into `tls` (missing directory: nothing to add). Errors name the
// file at fault: a .cert without its .key, an unreadable file.
absl::Status LoadCertsDir(const std::string& certs_dir, absl::string_view host, TlsOptions* tls);

// Checks a mirror URL: http or https, a host, no query.
absl::Status ValidateMirror(absl::string_view url);

}  // namespace berth::registry

#endif  // BERTH_SERVICES_IMAGES_REGISTRY_HOSTS_H_
