// The few rtnetlink operations container networking needs: bridges, veth pairs (the peer made
// straight inside a container's network namespace), addresses, routes, link state. One
// socket per network namespace: a Netlink opened "in" a namespace keeps acting there, whatever
// namespace the calling thread is in later.
#ifndef BERTH_SERVICES_NETWORK_NETLINK_H_
#define BERTH_SERVICES_NETWORK_NETLINK_H_

#include <netinet/in.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace berth::network {

// An IPv4 address and prefix length, e.g. 10.88.0.5/16.
struct Ipv4Prefix {
  in_addr_t address = 0;  // network byte order
  int length = 0;
  static absl::StatusOr<Ipv4Prefix> Parse(const std::string& cidr);
  std::string ToString() const;  // "10.88.0.5/16"
  std::string Address() const;   // "10.88.0.5"
};
absl::StatusOr<in_addr_t> ParseIpv4(const std::string& text);
std::string FormatIpv4(in_addr_t address);

class Netlink {
 public:
  // A socket in this thread's network namespace, or in the one `netns` (a /proc/PID/ns/net or
  // bind-mounted nsfs file) names.
  static absl::StatusOr<Netlink> Open();
  static absl::StatusOr<Netlink> OpenIn(const std::string& netns);

  // NOT_FOUND when there is no such link.
  absl::StatusOr<int> LinkIndex(const std::string& name);
  absl::Status CreateBridge(const std::string& name);
  // A veth pair: `name` here, `peer` created directly in the namespace of `peer_netns_fd`.
  absl::Status CreateVeth(const std::string& name, const std::string& peer, int peer_netns_fd);
  absl::Status SetMaster(int index, int master_index);
  absl::Status SetUp(int index);
  absl::Status AddAddress(int index, const Ipv4Prefix& prefix);
  absl::Status AddDefaultRoute(in_addr_t gateway, int index);
  absl::Status DeleteLink(int index);

 private:
  explicit Netlink(UniqueFd fd) : fd_(std::move(fd)) {}
  // Sends one request (with NLM_F_ACK) and reads the acknowledgement; an error from the
  // kernel is returned with `what` for context.
  absl::Status Request(std::string message, const std::string& what, std::string* reply = nullptr);

  UniqueFd fd_;
  uint32_t seq_ = 0;
};

}  // namespace berth::network

#endif  // BERTH_SERVICES_NETWORK_NETLINK_H_
