#include "ctl/client.h"

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/address.h"
#include "common/grpc_status.h"
#include "common/namespace.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth::ctl {
namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(5);

absl::Status CannotConnect(const std::string& host) {
  return absl::UnavailableError(
      absl::StrCat("cannot connect to berthd at ", host, ": is it running?"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Create(const GlobalOptions& options) {
  RETURN_IF_ERROR(ValidateNamespace(options.ns));
  ASSIGN_OR_RETURN(Address addr, ParseAddress(options.host));
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (addr.kind == Address::Kind::kTcp) {
    if (options.tls_ca.empty() || options.tls_cert.empty() || options.tls_key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("host ", options.host,
                       " is TCP, which requires mutual TLS: pass --tlscacert, --tlscert and "
                       "--tlskey"));
    }
    grpc::SslCredentialsOptions tls;
    ASSIGN_OR_RETURN(tls.pem_root_certs, sys::ReadFile(options.tls_ca));
    ASSIGN_OR_RETURN(tls.pem_cert_chain, sys::ReadFile(options.tls_cert));
    ASSIGN_OR_RETURN(tls.pem_private_key, sys::ReadFile(options.tls_key));
    creds = grpc::SslCredentials(tls);
  }
  return std::unique_ptr<Client>(
      new Client(addr.ToString(), options.ns, grpc::CreateChannel(addr.GrpcTarget(), creds)));
}

std::unique_ptr<grpc::ClientContext> Client::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata(kNamespaceMetadataKey, ns_);
  return ctx;
}

absl::Status Client::Connect() {
  const auto deadline = std::chrono::system_clock::now() + kConnectTimeout;
  grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
  // Fail on the first failed attempt rather than wait out the deadline: a missing socket
  // will not appear by itself.
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) {
      return CannotConnect(host_);
    }
    if (!channel_->WaitForStateChange(state, deadline)) return CannotConnect(host_);
    state = channel_->GetState(/*try_to_connect=*/true);
  }
  return absl::OkStatus();
}

absl::Status CallError(const Client& client, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      client.channel()->GetState(false) != GRPC_CHANNEL_READY) {
    return CannotConnect(client.host());
  }
  return FromGrpcStatus(status);
}

int ReportError(const absl::Status& status) {
  std::fprintf(stderr, "berth: %s\n", std::string(status.message()).c_str());
  // Failures to reach the daemon, and bad invocations, are berth's own (125), as in Docker.
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kInvalidArgument:
      return kExitBerth;
    default:
      return kExitError;
  }
}

}  // namespace berth::ctl
