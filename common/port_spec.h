// Published ports as `-p` writes them: [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp]. The CLI
// checks them and puts them on the container record; the daemon reads them back when it starts
// the container and has its shim listen.
#ifndef BERTH_COMMON_PORT_SPEC_H_
#define BERTH_COMMON_PORT_SPEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth {

struct PortSpec {
  std::string host_ip;     // "" = every address (0.0.0.0)
  uint16_t host_port = 0;  // 0 = any free port
  uint16_t container_port = 0;
  std::string protocol = "tcp";
  // Back to -p's form, canonical: "127.0.0.1:8080:80/tcp", "80/udp".
  std::string ToString() const;
};

// INVALID_ARGUMENT with Docker's wording for a malformed spec ("invalid port", "invalid
// proto", "invalid IP address").
absl::StatusOr<PortSpec> ParsePortSpec(absl::string_view text);
// A comma-separated list (the record's berth.io/ports label).
absl::StatusOr<std::vector<PortSpec>> ParsePortSpecs(absl::string_view list);

}  // namespace berth

#endif  // BERTH_COMMON_PORT_SPEC_H_
