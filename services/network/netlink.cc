#include "services/network/netlink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/syscall.h"

namespace berth::network {
namespace {

// A netlink message being built: header, fixed part, then attributes, nests closed by
// patching their lengths.
class Message {
 public:
  Message(uint16_t type, uint16_t flags) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    Append(&h, sizeof(h));
  }
  void Append(const void* data, size_t size) {
    buf_.append(static_cast<const char*>(data), size);
    buf_.resize(NLMSG_ALIGN(buf_.size()), '\0');
  }
  void Attr(uint16_t type, const void* data, size_t size) {
    rtattr a{};
    a.rta_type = type;
    a.rta_len = static_cast<uint16_t>(RTA_LENGTH(size));
    buf_.append(reinterpret_cast<const char*>(&a), sizeof(a));
    buf_.append(static_cast<const char*>(data), size);
    buf_.resize(RTA_ALIGN(buf_.size()), '\0');
  }
  void Attr(uint16_t type, const std::string& s) { Attr(type, s.c_str(), s.size() + 1); }
  void Attr(uint16_t type, uint32_t v) { Attr(type, &v, sizeof(v)); }
  size_t Begin(uint16_t type) {
    const size_t at = buf_.size();
    Attr(type, nullptr, 0);
    return at;
  }
  void End(size_t at) {
    const uint16_t len = static_cast<uint16_t>(buf_.size() - at);
    std::memcpy(&buf_[at], &len, sizeof(len));
  }
  std::string Finish(uint32_t seq) {
    nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf_.data());
    h->nlmsg_len = static_cast<uint32_t>(buf_.size());
    h->nlmsg_seq = seq;
    return buf_;
  }

 private:
  std::string buf_;
};

ifinfomsg LinkHeader(int index = 0) {
  ifinfomsg i{};
  i.ifi_family = AF_UNSPEC;
  i.ifi_index = index;
  return i;
}

absl::StatusOr<UniqueFd> NetlinkSocket() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return ErrnoStatus("socket(AF_NETLINK)", errno);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    return ErrnoStatus("bind(AF_NETLINK)", errno);
  }
  return fd;
}

}  // namespace

absl::StatusOr<in_addr_t> ParseIpv4(const std::string& text) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IPv4 address"));
  }
  return a.s_addr;
}

std::string FormatIpv4(in_addr_t address) {
  char buf[INET_ADDRSTRLEN];
  in_addr a{address};
  ::inet_ntop(AF_INET, &a, buf, sizeof(buf));
  return buf;
}

absl::StatusOr<Ipv4Prefix> Ipv4Prefix::Parse(const std::string& cidr) {
  const size_t slash = cidr.find('/');
  Ipv4Prefix p;
  if (slash == std::string::npos || !absl::SimpleAtoi(cidr.substr(slash + 1), &p.length) ||
      p.length < 0 || p.length > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", cidr, "\" is not an IPv4 subnet in CIDR form, like 10.88.0.0/16"));
  }
  absl::StatusOr<in_addr_t> a = ParseIpv4(cidr.substr(0, slash));
  if (!a.ok()) return a.status();
  p.address = *a;
  return p;
}

std::string Ipv4Prefix::ToString() const { return absl::StrCat(Address(), "/", length); }
std::string Ipv4Prefix::Address() const { return FormatIpv4(address); }

absl::StatusOr<Netlink> Netlink::Open() {
  absl::StatusOr<UniqueFd> fd = NetlinkSocket();
  if (!fd.ok()) return fd.status();
  return Netlink(*std::move(fd));
}

absl::StatusOr<Netlink> Netlink::OpenIn(const std::string& netns) {
  UniqueFd ns(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return ErrnoStatus(absl::StrCat("open ", netns), errno);
  // A socket belongs to the namespace it was made in; a short-lived thread enters the target
  // namespace to make it, so no other thread of ours ever changes namespace.
  absl::StatusOr<UniqueFd> fd = absl::InternalError("not run");
  std::thread([&] {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      fd = ErrnoStatus(absl::StrCat("setns to ", netns), errno);
      return;
    }
    fd = NetlinkSocket();
  }).join();
  if (!fd.ok()) return fd.status();
  return Netlink(*std::move(fd));
}

absl::Status Netlink::Request(std::string message, const std::string& what, std::string* reply) {
  if (::send(fd_.get(), message.data(), message.size(), 0) < 0) {
    return ErrnoStatus(absl::StrCat("netlink send (", what, ")"), errno);
  }
  const uint32_t seq = reinterpret_cast<const nlmsghdr*>(message.data())->nlmsg_seq;
  std::vector<char> buf(65536);
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(absl::StrCat("netlink recv (", what, ")"), errno);
    int len = static_cast<int>(n);
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const nlmsgerr* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) return absl::OkStatus();
        return ErrnoStatus(what, -e->error);
      }
      if (reply != nullptr) reply->assign(reinterpret_cast<const char*>(h), h->nlmsg_len);
    }
  }
}

absl::StatusOr<int> Netlink::LinkIndex(const std::string& name) {
  Message m(RTM_GETLINK, 0);
  ifinfomsg i = LinkHeader();
  m.Append(&i, sizeof(i));
  m.Attr(IFLA_IFNAME, name);
  std::string reply;
  absl::Status st = Request(m.Finish(++seq_), absl::StrCat("looking up link ", name), &reply);
  if (absl::IsNotFound(st) || (!st.ok() && absl::StrContains(st.message(), "No such device"))) {
    return absl::NotFoundError(absl::StrCat("no network link named ", name));
  }
  if (!st.ok()) return st;
  if (reply.size() < NLMSG_LENGTH(sizeof(ifinfomsg))) {
    return absl::NotFoundError(absl::StrCat("no network link named ", name));
  }
  const ifinfomsg* info =
      static_cast<const ifinfomsg*>(NLMSG_DATA(reinterpret_cast<const nlmsghdr*>(reply.data())));
  return info->ifi_index;
}

absl::Status Netlink::CreateBridge(const std::string& name) {
  Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg i = LinkHeader();
  m.Append(&i, sizeof(i));
  m.Attr(IFLA_IFNAME, name);
  const size_t info = m.Begin(IFLA_LINKINFO);
  m.Attr(IFLA_INFO_KIND, std::string("bridge"));
  m.End(info);
  return Request(m.Finish(++seq_), absl::StrCat("creating bridge ", name));
}

absl::Status Netlink::CreateVeth(const std::string& name, const std::string& peer,
                                 int peer_netns_fd) {
  Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg i = LinkHeader();
  m.Append(&i, sizeof(i));
  m.Attr(IFLA_IFNAME, name);
  const size_t info = m.Begin(IFLA_LINKINFO);
  m.Attr(IFLA_INFO_KIND, std::string("veth"));
  const size_t data = m.Begin(IFLA_INFO_DATA);
  const size_t peer_at = m.Begin(VETH_INFO_PEER);
  ifinfomsg p = LinkHeader();
  m.Append(&p, sizeof(p));
  m.Attr(IFLA_IFNAME, peer);
  m.Attr(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  m.End(peer_at);
  m.End(data);
  m.End(info);
  return Request(m.Finish(++seq_), absl::StrCat("creating veth pair ", name, "/", peer));
}

absl::Status Netlink::SetMaster(int index, int master_index) {
  Message m(RTM_NEWLINK, 0);
  ifinfomsg i = LinkHeader(index);
  m.Append(&i, sizeof(i));
  m.Attr(IFLA_MASTER, static_cast<uint32_t>(master_index));
  return Request(m.Finish(++seq_), "attaching a link to its bridge");
}

absl::Status Netlink::SetUp(int index) {
  Message m(RTM_NEWLINK, 0);
  ifinfomsg i = LinkHeader(index);
  i.ifi_flags = IFF_UP;
  i.ifi_change = IFF_UP;
  m.Append(&i, sizeof(i));
  return Request(m.Finish(++seq_), "setting a link up");
}

absl::Status Netlink::AddAddress(int index, const Ipv4Prefix& prefix) {
  Message m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
  ifaddrmsg a{};
  a.ifa_family = AF_INET;
  a.ifa_prefixlen = static_cast<unsigned char>(prefix.length);
  a.ifa_index = static_cast<unsigned>(index);
  m.Append(&a, sizeof(a));
  m.Attr(IFA_LOCAL, &prefix.address, sizeof(prefix.address));
  m.Attr(IFA_ADDRESS, &prefix.address, sizeof(prefix.address));
  return Request(m.Finish(++seq_), absl::StrCat("adding address ", prefix.ToString()));
}

absl::Status Netlink::AddDefaultRoute(in_addr_t gateway, int index) {
  Message m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  rtmsg r{};
  r.rtm_family = AF_INET;
  r.rtm_table = RT_TABLE_MAIN;
  r.rtm_protocol = RTPROT_BOOT;
  r.rtm_scope = RT_SCOPE_UNIVERSE;
  r.rtm_type = RTN_UNICAST;
  m.Append(&r, sizeof(r));
  m.Attr(RTA_GATEWAY, &gateway, sizeof(gateway));
  m.Attr(RTA_OIF, static_cast<uint32_t>(index));
  return Request(m.Finish(++seq_),
                 absl::StrCat("adding the default route via ", FormatIpv4(gateway)));
}

absl::Status Netlink::DeleteLink(int index) {
  Message m(RTM_DELLINK, 0);
  ifinfomsg i = LinkHeader(index);
  m.Append(&i, sizeof(i));
  return Request(m.Finish(++seq_), "deleting a link");
}

}  // namespace berth::network
