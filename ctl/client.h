// The CLI's connection to berthd: address, TLS, namespace metadata and error reporting.
#ifndef BERTH_CTL_CLIENT_H_
#define BERTH_CTL_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace berth::ctl {

inline constexpr char kDefaultHost[] = "unix:///run/berth/berthd.sock";

// Exit codes, as Docker's CLI uses them: 125 when berth itself (the CLI or the daemon) failed,
// as opposed to the container's own exit code.
inline constexpr int kExitError = 1;
inline constexpr int kExitBerth = 125;

struct GlobalOptions {
  std::string host = kDefaultHost;
  std::string ns = "default";
  std::string tls_ca, tls_cert, tls_key;  // for tcp:// hosts
};

class Client {
 public:
  // Validates the options and makes the channel; it does not connect yet.
  static absl::StatusOr<std::unique_ptr<Client>> Create(const GlobalOptions& options);

  // A context carrying the namespace, for one call.
  std::unique_ptr<grpc::ClientContext> Context() const;

  // Waits briefly for the daemon. UNAVAILABLE with "cannot connect to berthd at …: is it
  // running?" when nothing answers.
  absl::Status Connect();

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const std::string& host() const { return host_; }
  const std::string& ns() const { return ns_; }

 private:
  Client(std::string host, std::string ns, std::shared_ptr<grpc::Channel> channel)
      : host_(std::move(host)), ns_(std::move(ns)), channel_(std::move(channel)) {}

  std::string host_;
  std::string ns_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Turns a failed call into a status whose message a person can act on: a dropped connection
// becomes the "cannot connect" text; otherwise the daemon's own message is kept.
absl::Status CallError(const Client& client, const grpc::Status& status);

// Prints "berth: <message>" to stderr and returns the exit code for `status`.
int ReportError(const absl::Status& status);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CLIENT_H_
