#include "common/port_spec.h"

#include <arpa/inet.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth {
namespace {

absl::StatusOr<uint16_t> Port(absl::string_view text, absl::string_view whole, bool zero_ok) {
  uint32_t v = 0;
  if (!absl::SimpleAtoi(text, &v) || v > 65535 || (v == 0 && !zero_ok)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid port \"", text, "\" in \"", whole, "\": ports are 1-65535"));
  }
  return static_cast<uint16_t>(v);
}

}  // namespace

std::string PortSpec::ToString() const {
  std::string out;
  if (!host_ip.empty()) absl::StrAppend(&out, host_ip, ":");
  if (host_port != 0) {
    absl::StrAppend(&out, host_port, ":");
  } else if (!host_ip.empty()) {
    out += ":";
  }
  absl::StrAppend(&out, container_port, "/", protocol);
  return out;
}

absl::StatusOr<PortSpec> ParsePortSpec(absl::string_view text) {
  PortSpec p;
  absl::string_view rest = text;
  if (size_t slash = rest.rfind('/'); slash != absl::string_view::npos) {
    p.protocol = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (p.protocol != "tcp" && p.protocol != "udp") {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid proto \"", p.protocol, "\" in \"", text, "\": tcp or udp"));
    }
  }
  std::vector<absl::string_view> parts = absl::StrSplit(rest, ':');
  if (parts.empty() || parts.size() > 3 || parts.back().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid port specification \"", text, "\": use [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]"));
  }
  absl::StatusOr<uint16_t> c = Port(parts.back(), text, false);
  if (!c.ok()) return c.status();
  p.container_port = *c;
  if (parts.size() >= 2 && !parts[parts.size() - 2].empty()) {
    absl::StatusOr<uint16_t> h = Port(parts[parts.size() - 2], text, true);
    if (!h.ok()) return h.status();
    p.host_port = *h;
  }
  if (parts.size() == 3) {
    p.host_ip = std::string(parts[0]);
    in_addr a{};
    if (!p.host_ip.empty() && ::inet_pton(AF_INET, p.host_ip.c_str(), &a) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid IP address \"", p.host_ip, "\" in \"", text, "\" (IPv4 only)"));
    }
    if (p.host_ip == "0.0.0.0") p.host_ip.clear();
  }
  return p;
}

absl::StatusOr<std::vector<PortSpec>> ParsePortSpecs(absl::string_view list) {
  std::vector<PortSpec> out;
  for (absl::string_view one : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    absl::StatusOr<PortSpec> p = ParsePortSpec(one);
    if (!p.ok()) return p.status();
    out.push_back(*std::move(p));
  }
  return out;
}

}  // namespace berth
