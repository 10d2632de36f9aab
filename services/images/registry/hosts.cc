#include "services/images/registry/hosts.h"

#include <arpa/inet.h>
#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth::registry {
namespace {

// "host:port" → "host"; "[::1]:5000" → "::1".
std::string HostOnly(absl::string_view domain) {
  if (absl::StartsWith(domain, "[")) {
    const size_t end = domain.find(']');
    if (end != absl::string_view::npos) return std::string(domain.substr(1, end - 1));
  }
  const size_t colon = domain.rfind(':');
  if (colon != absl::string_view::npos && domain.find(':') == colon) {
    return std::string(domain.substr(0, colon));
  }
  return std::string(domain);
}

absl::optional<uint32_t> ParseIpv4(const std::string& host) {
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) return absl::nullopt;
  return ntohl(a.s_addr);
}

bool InCidr(absl::string_view cidr, const std::string& host) {
  const size_t slash = cidr.find('/');
  if (slash == absl::string_view::npos) return false;
  absl::optional<uint32_t> net = ParseIpv4(std::string(cidr.substr(0, slash)));
  absl::optional<uint32_t> ip = ParseIpv4(host);
  int bits = 0;
  if (!net || !ip || !absl::SimpleAtoi(cidr.substr(slash + 1), &bits) || bits < 0 || bits > 32) {
    return false;
  }
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (*net & mask) == (*ip & mask);
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

bool IsLoopback(absl::string_view domain) {
  const std::string host = HostOnly(domain);
  if (host == "localhost" || host == "::1") return true;
  absl::optional<uint32_t> ip = ParseIpv4(host);
  return ip.has_value() && (*ip >> 24) == 127;
}

bool IsInsecure(const std::vector<std::string>& insecure, absl::string_view domain) {
  const std::string host = HostOnly(domain);
  for (const std::string& entry : insecure) {
    if (entry == domain || entry == host) return true;
    if (InCidr(entry, host)) return true;
  }
  return false;
}

absl::Status LoadCertsDir(const std::string& certs_dir, absl::string_view host, TlsOptions* tls) {
  if (certs_dir.empty()) return absl::OkStatus();
  // A port-less name may not become a path outside certs_dir.
  if (host.empty() || absl::StrContains(host, '/') || host == "." || host == "..") {
    return absl::OkStatus();
  }
  const std::string dir = path::Join(certs_dir, host);
  for (const std::string& name : ListDir(dir)) {
    const std::string file = path::Join(dir, name);
    if (absl::EndsWith(name, ".crt")) {
      ASSIGN_OR_RETURN(std::string pem, sys::ReadFile(file));
      absl::StrAppend(&tls->ca_pem, pem, "\n");
    } else if (absl::EndsWith(name, ".cert")) {
      const std::string key =
          path::Join(dir, absl::StrCat(absl::StripSuffix(name, ".cert"), ".key"));
      if (!sys::Exists(key)) {
        return absl::FailedPreconditionError(
            absl::StrCat("certs.d: client certificate ", file, " has no key ", key));
      }
      tls->client_cert = file;
      tls->client_key = key;
    } else if (absl::EndsWith(name, ".key")) {
      const std::string cert =
          path::Join(dir, absl::StrCat(absl::StripSuffix(name, ".key"), ".cert"));
      if (!sys::Exists(cert)) {
        return absl::FailedPreconditionError(
            absl::StrCat("certs.d: client key ", file, " has no certificate ", cert));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateMirror(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "https://") && !absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("registry mirror \"", url, "\" must start with https:// or http://"));
  }
  const absl::string_view host = rest.substr(0, rest.find('/'));
  if (host.empty() || absl::StrContains(url, '?') || absl::StrContains(url, '#')) {
    return absl::InvalidArgumentError(
        absl::StrCat("registry mirror \"", url, "\" must be a URL with a host and no query"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Endpoint>> EndpointsFor(const HostsConfig& config,
                                                   absl::string_view domain, bool plain_http,
                                                   bool skip_verify) {
  std::vector<Endpoint> out;
  if (domain == kDockerHubDomain) {
    for (const std::string& m : config.mirrors) {
      RETURN_IF_ERROR(ValidateMirror(m));
      absl::string_view rest = m;
      Endpoint e;
      e.scheme = absl::ConsumePrefix(&rest, "https://") ? "https" : "http";
      absl::ConsumePrefix(&rest, "http://");
      const size_t slash = rest.find('/');
      e.host = std::string(rest.substr(0, slash));
      if (slash != absl::string_view::npos) {
        e.path = std::string(absl::StripSuffix(rest.substr(slash), "/"));
        if (e.path == "/") e.path.clear();
      }
      e.mirror = true;
      e.fallback_on_error = true;
      e.tls.verify = !skip_verify && !IsInsecure(config.insecure, e.host);
      RETURN_IF_ERROR(LoadCertsDir(config.certs_dir, e.host, &e.tls));
      out.push_back(std::move(e));
    }
  }
  const std::string host = domain == kDockerHubDomain ? kDockerHubHost : std::string(domain);
  Endpoint e;
  e.host = host;
  RETURN_IF_ERROR(LoadCertsDir(config.certs_dir, host, &e.tls));
  if (plain_http) {
    e.scheme = "http";
    out.push_back(std::move(e));
    return out;
  }
  e.scheme = "https";
  const bool insecure = skip_verify || IsInsecure(config.insecure, domain);
  e.tls.verify = !insecure;
  if (insecure || IsLoopback(domain)) {
    e.fallback_on_error = true;
    Endpoint plain = e;
    plain.scheme = "http";
    plain.fallback_on_error = false;
    out.push_back(std::move(e));
    out.push_back(std::move(plain));
  } else {
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace berth::registry
