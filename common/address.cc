#include "common/address.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace berth {

std::string Address::GrpcTarget() const {
  return kind == Kind::kUnix ? absl::StrCat("unix:", path) : hostport;
}

std::string Address::ToString() const {
  return kind == Kind::kUnix ? absl::StrCat("unix://", path) : absl::StrCat("tcp://", hostport);
}

absl::StatusOr<Address> ParseAddress(absl::string_view text) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid address \"", text, "\": ", why,
                     " (use unix:///absolute/path or tcp://host:port)"));
  };
  Address a;
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "unix://") || absl::StartsWith(rest, "/")) {
    if (!absl::StartsWith(rest, "/")) return invalid("the socket path must be absolute");
    if (rest.size() > 107) return invalid("the socket path is longer than 107 bytes");
    a.kind = Address::Kind::kUnix;
    a.path = std::string(rest);
    return a;
  }
  if (absl::ConsumePrefix(&rest, "tcp://")) {
    size_t colon = rest.rfind(':');
    uint32_t port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(rest.substr(colon + 1), &port) || port == 0 || port > 65535) {
      return invalid("expected host:port with a port from 1 to 65535");
    }
    a.kind = Address::Kind::kTcp;
    a.hostport = std::string(rest);
    return a;
  }
  return invalid("unknown scheme");
}

}  // namespace berth
