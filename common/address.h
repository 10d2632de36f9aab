// Daemon addresses: "unix:///abs/path" or "tcp://host:port".
#ifndef BERTH_COMMON_ADDRESS_H_
#define BERTH_COMMON_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth {

struct Address {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;      // kUnix: the socket's absolute path
  std::string hostport;  // kTcp: "host:port"

  // The form gRPC dials and listens on: "unix:/abs/path" or "host:port".
  std::string GrpcTarget() const;
  // The form people write and read: "unix:///abs/path" or "tcp://host:port".
  std::string ToString() const;
};

// Parses an address; a bare absolute path is taken as a unix socket.
absl::StatusOr<Address> ParseAddress(absl::string_view text);

}  // namespace berth

#endif  // BERTH_COMMON_ADDRESS_H_
