#include "services/daemon/daemon.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/path.h"
#include "common/server_process.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "spdlog/spdlog.h"

namespace berth::daemon {
namespace {

constexpr absl::Duration kShutdownGrace = absl::Seconds(5);

// The persistent identity of a root: made once, kept in <root>/uuid.
absl::StatusOr<std::string> RootUuid(const std::string& root) {
  const std::string file = path::Join(root, "uuid");
  if (absl::StatusOr<std::string> existing = sys::ReadFile(file); existing.ok()) {
    return std::string(absl::StripAsciiWhitespace(*existing));
  }
  ASSIGN_OR_RETURN(std::string random, sys::ReadFile("/proc/sys/kernel/random/uuid"));
  std::string uuid(absl::StripAsciiWhitespace(random));
  RETURN_IF_ERROR(sys::WriteFileAtomic(file, uuid + "\n", 0644));
  return uuid;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(DaemonConfig config) {
  RETURN_IF_ERROR(ValidateServiceSelection(config));
  ASSIGN_OR_RETURN(Address address, ParseAddress(config.address));
  // Root holds images and container data; state holds sockets and bundles. Neither is for
  // other users to list.
  RETURN_IF_ERROR(sys::MkdirAll(config.root, 0711));
  RETURN_IF_ERROR(sys::MkdirAll(config.state, 0711));
  ASSIGN_OR_RETURN(RootLock lock, RootLock::Acquire(config.root));
  std::unique_ptr<Daemon> d(new Daemon(std::move(config), std::move(lock), std::move(address)));
  RETURN_IF_ERROR(d->Listen());
  return d;
}

absl::Status Daemon::Listen() {
  ASSIGN_OR_RETURN(std::string uuid, RootUuid(config_.root));
  ServiceContext ctx{
      .config = config_,
      .facts = {.uuid = uuid,
                .pid = ::getpid(),
                .root = config_.root,
                .state = config_.state,
                .address = address_.ToString(),
                .started_at = absl::Now(),
                .log_level = config_.log_level},
      .endpoints = {},
      .channels = &channels_,
  };
  auto hosted = [&](const std::string& name) {
    return config_.services.empty() ||
           std::count(config_.services.begin(), config_.services.end(), name) > 0;
  };
  for (const ServiceDef& def : ServiceDefs()) {
    services::ServiceEndpoint ep{.name = def.name, .grpc_name = def.grpc_name};
    if (hosted(def.name)) {
      channels_.MarkLocal(def.name);
    } else if (auto it = config_.remote.find(def.name); it != config_.remote.end()) {
      ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> creds,
                       ClientCredentials(config_, it->second));
      ASSIGN_OR_RETURN(Address remote, ParseAddress(it->second));
      ep.local = false;
      ep.address = remote.ToString();
      ep.channel = grpc::CreateChannel(remote.GrpcTarget(), creds);
      channels_.AddRemote(def.name, ep.channel);
    } else {
      continue;  // Neither here nor anywhere: callers get UNAVAILABLE naming the service.
    }
    ctx.endpoints.push_back(std::move(ep));
  }

  grpc::ServerBuilder builder;
  for (const ServiceDef& def : ServiceDefs()) {
    if (!hosted(def.name)) continue;
    absl::StatusOr<std::unique_ptr<grpc::Service>> svc = def.make(ctx);
    if (!svc.ok()) return Annotate(svc.status(), absl::StrCat("starting service ", def.name));
    builder.RegisterService(svc->get());
    services_.push_back(*std::move(svc));
  }

  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (address_.kind == Address::Kind::kUnix) {
    RETURN_IF_ERROR(sys::MkdirAll(path::Dir(address_.path), 0711));
    RETURN_IF_ERROR(ClearStaleSocket(address_.path));
  } else {
    grpc::SslServerCredentialsOptions opts(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ASSIGN_OR_RETURN(opts.pem_root_certs, sys::ReadFile(config_.tls.ca));
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    ASSIGN_OR_RETURN(pair.private_key, sys::ReadFile(config_.tls.key));
    ASSIGN_OR_RETURN(pair.cert_chain, sys::ReadFile(config_.tls.cert));
    opts.pem_key_cert_pairs.push_back(std::move(pair));
    creds = grpc::SslServerCredentials(opts);
  }
  builder.AddListeningPort(address_.GrpcTarget(), creds);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> counters;
  counters.push_back(inflight_.Factory());
  builder.experimental().SetInterceptorCreators(std::move(counters));

  // gRPC binds the socket inside BuildAndStart; a umask there makes it 0660 from birth, with
  // no window in which another user could connect.
  mode_t old = ::umask(0117);
  server_ = builder.BuildAndStart();
  ::umask(old);
  if (server_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address_.ToString(), " (see the gRPC error above)"));
  }
  // socket_group: its members may connect too (until then, only root could).
  if (address_.kind == Address::Kind::kUnix && !config_.socket_group.empty()) {
    ASSIGN_OR_RETURN(gid_t gid, ResolveSocketGroup(config_.socket_group));
    if (::chown(address_.path.c_str(), static_cast<uid_t>(-1), gid) != 0) {
      return ErrnoStatus(absl::StrCat("chown(", address_.path, ", group ", gid, ")"), errno);
    }
  }
  channels_.SetServer(server_.get());
  spdlog::info("berthd {} listening on {} (root {}, state {})", uuid, address_.ToString(),
               config_.root, config_.state);
  return absl::OkStatus();
}

void Daemon::Shutdown() {
  if (server_ == nullptr) return;
  // Running calls get a grace period; idle connections get none (see inflight.h). Calls that
  // arrive during the grace are served too.
  if (!inflight_.WaitIdle(kShutdownGrace)) {
    spdlog::warn("{} calls still running after {}; cancelling them", inflight_.count(),
                 absl::FormatDuration(kShutdownGrace));
  }
  // No call may start on the in-process channel once the server shuts down (gRPC crashes):
  // services end their own threads' calls and every channel lent is given back first.
  if (!channels_.Close(kShutdownGrace)) {
    spdlog::warn("in-process channels still in use after {}; shutting down anyway",
                 absl::FormatDuration(kShutdownGrace));
  }
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  services_.clear();
  channels_.SetServer(nullptr);
  server_.reset();
  if (address_.kind == Address::Kind::kUnix) {
    if (absl::Status st = sys::RemoveIfExists(address_.path); !st.ok()) {
      spdlog::warn("removing socket: {}", st.ToString());
    }
  }
  spdlog::info("berthd stopped");
}

Daemon::~Daemon() { Shutdown(); }

}  // namespace berth::daemon
