#include "services/daemon/daemon_config.h"

#include <grp.h>

#include <CLI/CLI.hpp>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/address.h"
#include "common/config.h"
#include "common/log.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth::daemon {
namespace {

ConfigBinder Binder(DaemonConfig* c) {
  ConfigBinder b;
  b.String("root", &c->root)
      .String("state", &c->state)
      .String("address", &c->address)
      .String("log_level", &c->log_level)
      .String("log_format", &c->log_format)
      .String("socket_group", &c->socket_group)
      .StringList("services", &c->services)
      .StringMap("remote", &c->remote)
      .String("snapshotter", &c->snapshotter)
      .String("shim", &c->shim)
      .String("default_runtime", &c->default_runtime)
      .StringMap("runtimes", &c->runtimes)
      .Int("log_max_size", &c->log_max_size)
      .Int("log_max_files", &c->log_max_files)
      .String("default_network", &c->default_network)
      .String("bridge_name", &c->bridge_name)
      .String("bridge_subnet", &c->bridge_subnet)
      .StringList("registry_mirrors", &c->registry_mirrors)
      .StringList("insecure_registries", &c->insecure_registries)
      .String("registry_certs_dir", &c->registry_certs_dir)
      .Int("max_concurrent_downloads", &c->max_concurrent_downloads)
      .Int("max_concurrent_uploads", &c->max_concurrent_uploads)
      .String("ingest_expiry", &c->ingest_expiry)
      .String("runtime_timeout", &c->runtime_timeout)
      .SectionMap<ProxySnapshotterConfig>(
          "proxy_snapshotters", &c->proxy_snapshotters,
          [](ConfigBinder& p, ProxySnapshotterConfig& v) { p.String("address", &v.address); })
      .Section("tls", [c](ConfigBinder& t) {
        t.String("cert", &c->tls.cert).String("key", &c->tls.key).String("ca", &c->tls.ca);
      });
  return b;
}

}  // namespace

absl::StatusOr<DaemonConfig> LoadDaemonConfig(int argc, const char* const* argv,
                                              std::string* usage) {
  CLI::App app("berthd: the berth container engine daemon", "berthd");
  std::string config_file = kDefaultConfigPath;
  std::string root, state, address, log_level, log_format, services, default_network;
  app.add_option("--config", config_file, "config file (YAML)");
  app.add_option("--root", root, "directory for persistent data (default /var/lib/berth)");
  app.add_option("--state", state, "directory for runtime state (default /run/berth)");
  app.add_option("--address", address,
                 "listen address: unix:///path or tcp://host:port (default "
                 "unix://<state>/berthd.sock)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error");
  app.add_option("--log-format", log_format, "text or json");
  app.add_option("--default-network", default_network,
                 "network for containers that ask for the default one: bridge, none or host");
  app.add_option("--services", services,
                 "comma-separated services to host here (default: all); others are reached at "
                 "the addresses under `remote:` in the config");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    *usage = app.help();
    return absl::CancelledError("help");
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(absl::StrCat(e.what(), " (see berthd --help)"));
  }

  DaemonConfig c;
  const bool explicit_file = app.count("--config") > 0;
  if (explicit_file || sys::Exists(config_file)) {
    RETURN_IF_ERROR(Binder(&c).BindFile(config_file));
    c.config_file = config_file;
  }
  if (!root.empty()) c.root = root;
  if (!state.empty()) c.state = state;
  if (!address.empty()) c.address = address;
  if (!log_level.empty()) c.log_level = log_level;
  if (!log_format.empty()) c.log_format = log_format;
  if (!default_network.empty()) c.default_network = default_network;
  if (app.count("--services") > 0) {
    c.services = absl::StrSplit(services, ',', absl::SkipWhitespace());
  }
  if (c.address.empty()) c.address = absl::StrCat("unix://", path::Join(c.state, "berthd.sock"));
  RETURN_IF_ERROR(ValidateDaemonConfig(c));
  return c;
}

absl::StatusOr<gid_t> ResolveSocketGroup(const std::string& group) {
  std::vector<char> buf(16384);
  struct group gr;
  struct group* found = nullptr;
  if (::getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->gr_gid;
  }
  uint32_t gid = 0;
  if (absl::SimpleAtoi(group, &gid) && gid != static_cast<uint32_t>(-1)) return gid;
  return absl::InvalidArgumentError(
      absl::StrCat("socket_group: no group named \"", group, "\" (and not a number)"));
}

absl::Status ValidateDaemonConfig(const DaemonConfig& c) {
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string&>{"root", c.root}, {"state", c.state}}) {
    if (!path::IsAbsolute(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, " must be an absolute path, got \"", value, "\""));
    }
  }
  RETURN_IF_ERROR(ValidateLogOptions({.level = c.log_level, .format = c.log_format}));
  ASSIGN_OR_RETURN(Address addr, ParseAddress(c.address));
  if (addr.kind == Address::Kind::kTcp &&
      (c.tls.cert.empty() || c.tls.key.empty() || c.tls.ca.empty())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address ", c.address,
        " is TCP, which requires mutual TLS: set tls.cert, tls.key and tls.ca in the config"));
  }
  if (!c.socket_group.empty()) {
    if (addr.kind != Address::Kind::kUnix) {
      return absl::InvalidArgumentError(absl::StrCat(
          "socket_group applies to a unix socket; address ", c.address, " is not one"));
    }
    RETURN_IF_ERROR(ResolveSocketGroup(c.socket_group).status());
  }
  for (const auto& [name, proxy] : c.proxy_snapshotters) {
    const std::string key = absl::StrCat("proxy_snapshotters.", name);
    if (name == "overlayfs" || name == "native") {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": \"", name, "\" is a built-in snapshotter; pick another name"));
    }
    if (name.empty() || name.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(key, ": a name must be non-empty, no \"/\""));
    }
    if (proxy.address.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(key, ".address is required"));
    }
    absl::StatusOr<Address> a = ParseAddress(proxy.address);
    if (!a.ok()) return Annotate(a.status(), key + ".address");
    if (a->kind != Address::Kind::kUnix) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ".address must be unix:///PATH, got \"", proxy.address, "\""));
    }
  }
  if (!c.shim.empty() && !path::IsAbsolute(c.shim)) {
    return absl::InvalidArgumentError(
        absl::StrCat("shim must be an absolute path, got \"", c.shim, "\""));
  }
  for (const auto& [name, bin] : c.runtimes) {
    if (!path::IsAbsolute(bin)) {
      return absl::InvalidArgumentError(
          absl::StrCat("runtimes.", name, " must be an absolute path, got \"", bin, "\""));
    }
  }
  if (c.bridge_name.empty() || c.bridge_name.size() > 15 ||
      c.bridge_name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bridge_name \"", c.bridge_name, "\" is not a valid interface name (1-15 characters)"));
  }
  if (c.log_max_size < 0 || c.log_max_files < 1) {
    return absl::InvalidArgumentError(
        "log_max_size must be 0 (no rotation) or more, and log_max_files at least 1");
  }
  for (const std::string& m : c.registry_mirrors) {
    if (!absl::StartsWith(m, "https://") && !absl::StartsWith(m, "http://")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "registry_mirrors: \"", m, "\" must be a URL starting with https:// or http://"));
    }
  }
  if (!c.registry_certs_dir.empty() && !path::IsAbsolute(c.registry_certs_dir)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "registry_certs_dir must be an absolute path, got \"", c.registry_certs_dir, "\""));
  }
  for (const auto& [key, value] :
       {std::pair<const char*, int64_t>{"max_concurrent_downloads", c.max_concurrent_downloads},
        {"max_concurrent_uploads", c.max_concurrent_uploads}}) {
    if (value < 1 || value > 32) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, " must be between 1 and 32, got ", value));
    }
  }
  if (absl::Duration d; !absl::ParseDuration(c.ingest_expiry, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ingest_expiry \"", c.ingest_expiry,
                     "\" is not a duration such as \"24h\", \"90m\" or \"0\" (never)"));
  }
  if (absl::Duration d; !absl::ParseDuration(c.runtime_timeout, &d) || d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("runtime_timeout \"", c.runtime_timeout,
                     "\" is not a duration above 0 such as \"60s\", \"2m\" or \"1m30s\""));
  }
  for (const auto& [name, remote] : c.remote) {
    absl::StatusOr<Address> a = ParseAddress(remote);
    if (!a.ok()) return Annotate(a.status(), absl::StrCat("remote.", name));
  }
  return absl::OkStatus();
}

}  // namespace berth::daemon
