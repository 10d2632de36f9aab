#include "services/network/network_manager.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/digest.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "services/network/netlink.h"
#include "snapshotter/storage/fsutil.h"

namespace berth::network {
namespace {

using json = nlohmann::json;

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") out.push_back(name);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status ValidateNetworkName(const std::string& name) {
  const bool ok = !name.empty() && absl::ascii_isalnum(name[0]) &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
                  });
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid network name \"", name, "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  }
  if (name == kDefaultNetwork || name == "host" || name == "none") {
    return absl::InvalidArgumentError(
        absl::StrCat("network name \"", name, "\" is reserved (a built-in network mode)"));
  }
  return absl::OkStatus();
}

uint32_t HostOrder(in_addr_t a) { return ntohl(a); }
in_addr_t NetOrder(uint32_t a) { return htonl(a); }
uint32_t Mask(int length) { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }

// Docker's rule: the host's resolv.conf without loopback nameservers (they would point into
// the container itself), and Google's public resolvers if none is left.
std::string ResolvConf() {
  std::string in = sys::ReadFile("/etc/resolv.conf").value_or("");
  std::string out;
  bool any = false;
  for (absl::string_view line : absl::StrSplit(in, '\n')) {
    absl::string_view t = absl::StripLeadingAsciiWhitespace(line);
    if (absl::StartsWith(t, "nameserver")) {
      absl::string_view addr = absl::StripAsciiWhitespace(t.substr(10));
      if (absl::StartsWith(addr, "127.") || addr == "::1") continue;
      any = true;
    }
    if (!line.empty()) absl::StrAppend(&out, line, "\n");
  }
  if (!any) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  return out;
}

json ToJson(const Endpoint& e) {
  return {{"network", e.network},
          {"namespace", e.ns},
          {"id", e.id},
          {"name", e.name},
          {"hostname", e.hostname},
          {"address", e.address},
          {"prefix_length", e.prefix_length},
          {"gateway", e.gateway},
          {"interface", e.interface},
          {"host_veth", e.host_veth},
          {"hosts_file", e.hosts_file}};
}

Endpoint FromJson(const json& j) {
  Endpoint e;
  e.network = j.value("network", "");
  e.ns = j.value("namespace", "");
  e.id = j.value("id", "");
  e.name = j.value("name", "");
  e.hostname = j.value("hostname", "");
  e.address = j.value("address", "");
  e.prefix_length = j.value("prefix_length", 16);
  e.gateway = j.value("gateway", "");
  e.interface = j.value("interface", "eth0");
  e.host_veth = j.value("host_veth", "");
  e.hosts_file = j.value("hosts_file", "");
  return e;
}

// Rewrites a file in place: it is bind-mounted into a container, so a rename would not reach.
void WriteInPlace(const std::string& file, const std::string& content) {
  std::ofstream out(file, std::ios::trunc);
  out << content;
}

}  // namespace

NetworkManager::NetworkManager(std::string dir, std::string default_subnet,
                               std::string default_bridge)
    : dir_(std::move(dir)),
      default_subnet_(std::move(default_subnet)),
      default_bridge_(std::move(default_bridge)) {}

std::string NetworkManager::NetworkDir(const std::string& name) const {
  return path::Join(dir_, name);
}

absl::StatusOr<NetworkConfig> NetworkManager::Load(const std::string& name) {
  if (name == kDefaultNetwork) {
    ASSIGN_OR_RETURN(Ipv4Prefix p, Ipv4Prefix::Parse(default_subnet_));
    NetworkConfig c;
    c.name = kDefaultNetwork;
    c.id = Sha256Of("berth network bridge").hex();
    c.subnet = FormatIpv4(NetOrder(HostOrder(p.address) & Mask(p.length))) + "/" +
               std::to_string(p.length);
    c.gateway = FormatIpv4(NetOrder((HostOrder(p.address) & Mask(p.length)) + 1));
    c.bridge = default_bridge_;
    c.builtin = true;
    return c;
  }
  absl::StatusOr<std::string> text = sys::ReadFile(path::Join(NetworkDir(name), "network.json"));
  if (!text.ok()) {
    return absl::NotFoundError(absl::StrCat("network ", name, " not found"));
  }
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object()) return absl::DataLossError(absl::StrCat("network ", name, ": bad record"));
  NetworkConfig c;
  c.name = j.value("name", name);
  c.id = j.value("id", "");
  c.subnet = j.value("subnet", "");
  c.gateway = j.value("gateway", "");
  c.bridge = j.value("bridge", "");
  c.labels = j.value("labels", std::map<std::string, std::string>{});
  c.created = absl::FromUnixNanos(j.value("created", int64_t{0}));
  return c;
}

std::vector<NetworkConfig> NetworkManager::List() {
  std::vector<NetworkConfig> out;
  if (absl::StatusOr<NetworkConfig> d = Load(kDefaultNetwork); d.ok()) out.push_back(*d);
  for (const std::string& name : Entries(dir_)) {
    if (name == kDefaultNetwork) continue;
    if (absl::StatusOr<NetworkConfig> c = Load(name); c.ok()) out.push_back(*std::move(c));
  }
  return out;
}

absl::StatusOr<NetworkConfig> NetworkManager::Get(const std::string& ref) {
  if (absl::StatusOr<NetworkConfig> c = Load(ref); c.ok() || ref.find('/') != std::string::npos) {
    return c;
  }
  std::vector<NetworkConfig> matches;
  for (NetworkConfig& c : List()) {
    if (!ref.empty() && absl::StartsWith(c.id, ref)) matches.push_back(std::move(c));
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("network id prefix ", ref, " is ambiguous: it matches ", matches.size()));
  }
  return absl::NotFoundError(absl::StrCat("network ", ref, " not found"));
}

absl::StatusOr<NetworkConfig> NetworkManager::Create(
    const std::string& name, const std::string& subnet,
    const std::map<std::string, std::string>& labels) {
  RETURN_IF_ERROR(ValidateNetworkName(name));
  absl::MutexLock l(&mu_);
  std::vector<NetworkConfig> existing = List();
  auto overlaps = [&](const Ipv4Prefix& p) -> std::string {
    for (const NetworkConfig& n : existing) {
      absl::StatusOr<Ipv4Prefix> q = Ipv4Prefix::Parse(n.subnet);
      if (!q.ok()) continue;
      const uint32_t m = Mask(std::min(p.length, q->length));
      if ((HostOrder(p.address) & m) == (HostOrder(q->address) & m)) return n.name;
    }
    return "";
  };
  Ipv4Prefix p;
  if (!subnet.empty()) {
    ASSIGN_OR_RETURN(p, Ipv4Prefix::Parse(subnet));
    if (p.length > 30) {
      return absl::InvalidArgumentError(
          absl::StrCat("subnet ", subnet, " is too small: a network needs at least a /30"));
    }
    p.address = NetOrder(HostOrder(p.address) & Mask(p.length));
    if (std::string other = overlaps(p); !other.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("subnet ", p.ToString(), " overlaps with network ", other));
    }
  } else {
    // The first free 10.89.N.0/24, as podman hands out 10.89.N.0/24.
    bool found = false;
    for (uint32_t n = 0; n < 256 && !found; ++n) {
      p.address = NetOrder((10u << 24) | (89u << 16) | (n << 8));
      p.length = 24;
      found = overlaps(p).empty();
    }
    if (!found) return absl::ResourceExhaustedError("no free subnet left in 10.89.0.0/16");
  }
  const std::string dir = NetworkDir(name);
  RETURN_IF_ERROR(sys::MkdirAll(dir_, 0700));
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat("network with name ", name, " already exists"));
    }
    return ErrnoStatus(absl::StrCat("mkdir ", dir), errno);
  }
  NetworkConfig c;
  c.name = name;
  c.id = Sha256Of(absl::StrCat(name, absl::ToUnixNanos(absl::Now()))).hex();
  c.subnet = p.ToString();
  c.gateway = FormatIpv4(NetOrder(HostOrder(p.address) + 1));
  c.bridge = "br-" + c.id.substr(0, 12);
  c.labels = labels;
  c.created = absl::Now();
  json j = {{"name", c.name},
            {"id", c.id},
            {"subnet", c.subnet},
            {"gateway", c.gateway},
            {"bridge", c.bridge},
            {"labels", c.labels},
            {"created", absl::ToUnixNanos(c.created)}};
  absl::Status st = sys::WriteFileAtomic(path::Join(dir, "network.json"), j.dump(2), 0600);
  if (!st.ok()) {
    snapshotter::RemoveAll(dir).IgnoreError();
    return st;
  }
  return c;
}

std::vector<Endpoint> NetworkManager::Endpoints(const std::string& network) {
  std::vector<Endpoint> out;
  const std::string base = path::Join(NetworkDir(network), "endpoints");
  for (const std::string& ns : Entries(base)) {
    for (const std::string& file : Entries(path::Join(base, ns))) {
      absl::StatusOr<std::string> text = sys::ReadFile(path::Join(path::Join(base, ns), file));
      if (!text.ok()) continue;
      json j = json::parse(*text, nullptr, false);
      if (j.is_object()) out.push_back(FromJson(j));
    }
  }
  return out;
}

std::vector<Endpoint> NetworkManager::EndpointsOf(const std::string& ns, const std::string& id) {
  std::vector<Endpoint> out;
  for (const NetworkConfig& n : List()) {
    const std::string file =
        path::Join(path::Join(path::Join(NetworkDir(n.name), "endpoints"), ns), id + ".json");
    absl::StatusOr<std::string> text = sys::ReadFile(file);
    if (!text.ok()) continue;
    json j = json::parse(*text, nullptr, false);
    if (j.is_object()) out.push_back(FromJson(j));
  }
  std::sort(out.begin(), out.end(),
            [](const Endpoint& a, const Endpoint& b) { return a.interface < b.interface; });
  return out;
}

absl::Status NetworkManager::Remove(const std::string& ref) {
  ASSIGN_OR_RETURN(NetworkConfig c, Get(ref));
  if (c.builtin) {
    return absl::FailedPreconditionError(
        absl::StrCat("bridge is a pre-defined network and cannot be removed"));
  }
  absl::MutexLock l(&mu_);
  std::vector<Endpoint> eps = Endpoints(c.name);
  if (!eps.empty()) {
    std::vector<std::string> names;
    for (const Endpoint& e : eps) names.push_back(e.name.empty() ? e.id : e.name);
    return absl::FailedPreconditionError(
        absl::StrCat("error while removing network: network ", c.name, " id ", c.id,
                     " has active endpoints (", absl::StrJoin(names, ", "), ")"));
  }
  if (absl::StatusOr<Netlink> nl = Netlink::Open(); nl.ok()) {
    if (absl::StatusOr<int> idx = nl->LinkIndex(c.bridge); idx.ok()) {
      RETURN_IF_ERROR(nl->DeleteLink(*idx));
    }
  }
  return snapshotter::RemoveAll(NetworkDir(c.name));
}

absl::StatusOr<Endpoint> NetworkManager::Allocate(const std::string& network, const std::string& ns,
                                                  const std::string& id, const std::string& name,
                                                  const std::string& hostname,
                                                  const std::string& interface,
                                                  const std::string& hosts_file) {
  ASSIGN_OR_RETURN(NetworkConfig net, Get(network));
  ASSIGN_OR_RETURN(Ipv4Prefix subnet, Ipv4Prefix::Parse(net.subnet));
  absl::MutexLock l(&mu_);
  const std::string epdir = path::Join(path::Join(NetworkDir(net.name), "endpoints"), ns);
  const std::string epfile = path::Join(epdir, id + ".json");
  Endpoint e;
  if (absl::StatusOr<std::string> text = sys::ReadFile(epfile); text.ok()) {
    json j = json::parse(*text, nullptr, false);
    if (j.is_object()) e = FromJson(j);  // the address it had: kept across restarts
  }
  if (e.address.empty()) {
    const std::string ipdir = path::Join(NetworkDir(net.name), "ips");
    RETURN_IF_ERROR(sys::MkdirAll(ipdir, 0700));
    const uint32_t base = HostOrder(subnet.address) & Mask(subnet.length);
    const uint32_t size = subnet.length == 32 ? 1 : (uint32_t{1} << (32 - subnet.length));
    // .0 is the network, .1 the gateway, the last the broadcast address.
    for (uint32_t host = 2; host + 1 < size && e.address.empty(); ++host) {
      const std::string addr = FormatIpv4(NetOrder(base + host));
      const int fd =
          ::open(path::Join(ipdir, addr).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) continue;
      const std::string owner = absl::StrCat(ns, "/", id);
      (void)!::write(fd, owner.data(), owner.size());
      ::close(fd);
      e.address = addr;
    }
    if (e.address.empty()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("network ", net.name, " has no free address left in ", net.subnet));
    }
  }
  e.network = net.name;
  e.ns = ns;
  e.id = id;
  e.name = name;
  e.hostname = hostname;
  e.prefix_length = subnet.length;
  e.gateway = net.gateway;
  e.interface = interface;
  e.host_veth = "veth" + Sha256Of(absl::StrCat(net.name, "/", ns, "/", id)).hex().substr(0, 11);
  e.hosts_file = hosts_file;
  RETURN_IF_ERROR(sys::MkdirAll(epdir, 0700));
  RETURN_IF_ERROR(sys::WriteFileAtomic(epfile, ToJson(e).dump(), 0600));
  return e;
}

absl::Status NetworkManager::EnsureBridge(const NetworkConfig& net) {
  ASSIGN_OR_RETURN(Netlink nl, Netlink::Open());
  absl::StatusOr<int> idx = nl.LinkIndex(net.bridge);
  if (absl::IsNotFound(idx.status())) {
    absl::Status st = nl.CreateBridge(net.bridge);
    if (!st.ok() && !absl::IsAlreadyExists(st)) return st;
    idx = nl.LinkIndex(net.bridge);
  }
  if (!idx.ok()) return idx.status();
  ASSIGN_OR_RETURN(Ipv4Prefix subnet, Ipv4Prefix::Parse(net.subnet));
  ASSIGN_OR_RETURN(in_addr_t gw, ParseIpv4(net.gateway));
  RETURN_IF_ERROR(nl.AddAddress(*idx, Ipv4Prefix{gw, subnet.length}));
  return nl.SetUp(*idx);
}

absl::Status NetworkManager::Plumb(const Endpoint& e, const std::string& netns) {
  ASSIGN_OR_RETURN(NetworkConfig net, Get(e.network));
  RETURN_IF_ERROR(Annotate(EnsureBridge(net), absl::StrCat("network ", net.name)));
  ASSIGN_OR_RETURN(Netlink host, Netlink::Open());
  if (absl::StatusOr<int> stale = host.LinkIndex(e.host_veth); stale.ok()) {
    RETURN_IF_ERROR(host.DeleteLink(*stale));  // left by a container that died with the daemon
  }
  ASSIGN_OR_RETURN(UniqueFd nsfd, sys::Open(netns, O_RDONLY | O_CLOEXEC));
  RETURN_IF_ERROR(host.CreateVeth(e.host_veth, e.interface, nsfd.get()));
  ASSIGN_OR_RETURN(int veth, host.LinkIndex(e.host_veth));
  ASSIGN_OR_RETURN(int bridge, host.LinkIndex(net.bridge));
  RETURN_IF_ERROR(host.SetMaster(veth, bridge));
  RETURN_IF_ERROR(host.SetUp(veth));

  ASSIGN_OR_RETURN(Netlink inside, Netlink::OpenIn(netns));
  ASSIGN_OR_RETURN(int lo, inside.LinkIndex("lo"));
  RETURN_IF_ERROR(inside.SetUp(lo));
  ASSIGN_OR_RETURN(int eth, inside.LinkIndex(e.interface));
  ASSIGN_OR_RETURN(in_addr_t addr, ParseIpv4(e.address));
  RETURN_IF_ERROR(inside.AddAddress(eth, Ipv4Prefix{addr, e.prefix_length}));
  RETURN_IF_ERROR(inside.SetUp(eth));
  if (e.interface == "eth0") {
    ASSIGN_OR_RETURN(in_addr_t gw, ParseIpv4(e.gateway));
    RETURN_IF_ERROR(inside.AddDefaultRoute(gw, eth));
  }
  return absl::OkStatus();
}

absl::Status NetworkManager::Release(const std::string& network, const std::string& ns,
                                     const std::string& id) {
  absl::StatusOr<NetworkConfig> net = Get(network);
  if (!net.ok()) return absl::OkStatus();  // removed meanwhile: nothing of ours is left there
  {
    absl::MutexLock l(&mu_);
    const std::string epfile =
        path::Join(path::Join(path::Join(NetworkDir(net->name), "endpoints"), ns), id + ".json");
    absl::StatusOr<std::string> text = sys::ReadFile(epfile);
    if (!text.ok()) return absl::OkStatus();
    const Endpoint e = FromJson(json::parse(*text, nullptr, false));
    if (absl::StatusOr<Netlink> nl = Netlink::Open(); nl.ok()) {
      // Deleting the host end takes the container's end with it (if its namespace lives on).
      if (absl::StatusOr<int> idx = nl->LinkIndex(e.host_veth); idx.ok()) {
        nl->DeleteLink(*idx).IgnoreError();
      }
    }
    if (!e.address.empty()) {
      sys::RemoveIfExists(path::Join(path::Join(NetworkDir(net->name), "ips"), e.address))
          .IgnoreError();
    }
    sys::RemoveIfExists(epfile).IgnoreError();
  }
  RefreshHosts(net->name);
  return absl::OkStatus();
}

std::string NetworkManager::HostsContent(const Endpoint& self, const std::vector<Endpoint>& own) {
  std::string out =
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n";
  std::set<std::string> seen;
  for (const Endpoint& e : own) {
    if (e.address.empty()) continue;
    absl::StrAppend(&out, e.address, "\t", self.hostname,
                    self.name.empty() || self.name == self.hostname ? "" : "\t" + self.name, "\n");
    seen.insert(e.address);
  }
  // Peers on user-defined networks, by container name (the default bridge has none, as Docker).
  for (const Endpoint& mine : own) {
    if (mine.network == kDefaultNetwork) continue;
    for (const Endpoint& peer : Endpoints(mine.network)) {
      if ((peer.ns == self.ns && peer.id == self.id) || peer.address.empty() ||
          !seen.insert(peer.address).second) {
        continue;
      }
      absl::StrAppend(&out, peer.address, "\t",
                      peer.name.empty() ? peer.id.substr(0, 12) : peer.name, "\t",
                      peer.id.substr(0, 12), "\n");
    }
  }
  return out;
}

absl::StatusOr<ContainerFiles> NetworkManager::WriteFiles(const std::string& dir,
                                                          const std::string& hostname,
                                                          const std::vector<Endpoint>& endpoints) {
  ContainerFiles f{.hosts = path::Join(dir, "hosts"),
                   .hostname = path::Join(dir, "hostname"),
                   .resolv_conf = path::Join(dir, "resolv.conf")};
  Endpoint self = endpoints.empty() ? Endpoint{} : endpoints.front();
  self.hostname = hostname;
  RETURN_IF_ERROR(sys::WriteFileAtomic(f.hosts, HostsContent(self, endpoints), 0644));
  RETURN_IF_ERROR(sys::WriteFileAtomic(f.hostname, hostname + "\n", 0644));
  RETURN_IF_ERROR(sys::WriteFileAtomic(f.resolv_conf, ResolvConf(), 0644));
  return f;
}

void NetworkManager::RefreshHosts(const std::string& network) {
  if (network == kDefaultNetwork) return;
  absl::MutexLock l(&mu_);
  for (const Endpoint& e : Endpoints(network)) {
    if (e.hosts_file.empty() || !sys::Exists(e.hosts_file)) continue;
    WriteInPlace(e.hosts_file, HostsContent(e, EndpointsOf(e.ns, e.id)));
  }
}

}  // namespace berth::network
