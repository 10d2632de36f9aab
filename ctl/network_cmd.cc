// berth network create|ls|inspect|rm|connect|disconnect, and berth port: bridge networks and
// the ports a container publishes, printed as Docker prints them.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "berth/services/networks/v1/networks.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container/labels.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"
#include "ctl/table.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::networks::v1;

struct Session {
  std::unique_ptr<Client> client;
  std::unique_ptr<pb::Networks::Stub> stub;
};

absl::StatusOr<Session> Connect(const GlobalOptions& global) {
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return client.status();
  Session s;
  s.stub = pb::Networks::NewStub((*client)->channel());
  s.client = *std::move(client);
  return s;
}

std::string Created(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0) return "0001-01-01T00:00:00Z";
  return absl::FormatTime(absl::RFC3339_full,
                          absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos()),
                          absl::UTCTimeZone());
}

nlohmann::json InspectJson(const pb::InspectNetworkResponse& r) {
  const pb::Network& n = r.network();
  nlohmann::json containers = nlohmann::json::object();
  for (const pb::EndpointInfo& e : r.endpoints()) {
    containers[e.container_id()] = {
        {"Name", e.name()}, {"IPv4Address", e.address()}, {"Interface", e.interface()}};
  }
  return {
      {"Name", n.name()},
      {"Id", n.id()},
      {"Created", Created(n.created_at())},
      {"Scope", "local"},
      {"Driver", n.driver()},
      {"IPAM",
       {{"Driver", "default"}, {"Config", {{{"Subnet", n.subnet()}, {"Gateway", n.gateway()}}}}}},
      {"Options", {{"com.docker.network.bridge.name", n.bridge()}}},
      {"Containers", containers},
      {"Labels",
       nlohmann::json(std::map<std::string, std::string>(n.labels().begin(), n.labels().end()))}};
}

struct CreateFlags {
  std::string name, driver, subnet;
  std::vector<std::string> labels;
};

int RunCreate(const GlobalOptions& g, const CreateFlags& f) {
  absl::StatusOr<Session> s = Connect(g);
  if (!s.ok()) return ReportError(s.status());
  pb::CreateNetworkRequest req;
  req.set_name(f.name);
  req.set_driver(f.driver);
  req.set_subnet(f.subnet);
  for (const std::string& l : f.labels) {
    const size_t eq = l.find('=');
    (*req.mutable_labels())[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  pb::CreateNetworkResponse resp;
  grpc::Status st = s->stub->Create(s->client->Context().get(), req, &resp);
  if (!st.ok()) return ReportError(CallError(*s->client, st));
  std::printf("%s\n", resp.network().id().c_str());
  return 0;
}

int RunLs(const GlobalOptions& g, bool quiet, bool no_trunc,
          const std::vector<std::string>& filters) {
  absl::StatusOr<Session> s = Connect(g);
  if (!s.ok()) return ReportError(s.status());
  pb::ListNetworksRequest req;
  for (const std::string& f : filters) {
    // Docker's --filter name=x becomes the API's name~=x (Docker matches names by substring).
    const size_t eq = f.find('=');
    if (eq == std::string::npos)
      return ReportError(absl::InvalidArgumentError(
          absl::StrCat("bad format of filter (expected name=value): ", f)));
    std::string key = f.substr(0, eq), value = f.substr(eq + 1);
    if (key == "label") {
      const size_t e2 = value.find('=');
      req.add_filters(e2 == std::string::npos ? absl::StrCat("labels.\"", value, "\"")
                                              : absl::StrCat("labels.\"", value.substr(0, e2),
                                                             "\"==", value.substr(e2 + 1)));
    } else if (key == "name" || key == "id" || key == "driver") {
      req.add_filters(absl::StrCat(key, key == "driver" ? "==" : "~=", value));
    } else {
      return ReportError(absl::InvalidArgumentError(absl::StrCat("invalid filter '", key, "'")));
    }
  }
  pb::ListNetworksResponse resp;
  grpc::Status st = s->stub->List(s->client->Context().get(), req, &resp);
  if (!st.ok()) return ReportError(CallError(*s->client, st));
  std::vector<std::vector<std::string>> rows;
  if (!quiet) rows.push_back({"NETWORK ID", "NAME", "DRIVER", "SCOPE"});
  for (const pb::Network& n : resp.networks()) {
    const std::string id = no_trunc ? n.id() : n.id().substr(0, 12);
    if (quiet) {
      std::printf("%s\n", id.c_str());
      continue;
    }
    rows.push_back({id, n.name(), n.driver(), "local"});
  }
  if (!quiet) PrintTable(rows, kDockerTableStyle);
  return 0;
}

int RunInspect(const GlobalOptions& g, const std::vector<std::string>& names) {
  absl::StatusOr<Session> s = Connect(g);
  if (!s.ok()) return ReportError(s.status());
  nlohmann::json out = nlohmann::json::array();
  int code = 0;
  for (const std::string& name : names) {
    pb::InspectNetworkRequest req;
    req.set_name(name);
    pb::InspectNetworkResponse resp;
    grpc::Status st = s->stub->Inspect(s->client->Context().get(), req, &resp);
    if (!st.ok()) {
      code = ReportError(CallError(*s->client, st));
      continue;
    }
    out.push_back(InspectJson(resp));
  }
  std::printf("%s\n", out.dump(4).c_str());
  return code;
}

int RunRm(const GlobalOptions& g, const std::vector<std::string>& names) {
  absl::StatusOr<Session> s = Connect(g);
  if (!s.ok()) return ReportError(s.status());
  int code = 0;
  for (const std::string& name : names) {
    pb::RemoveNetworkRequest req;
    req.set_name(name);
    google::protobuf::Empty e;
    grpc::Status st = s->stub->Remove(s->client->Context().get(), req, &e);
    if (!st.ok()) {
      code = ReportError(CallError(*s->client, st));
      continue;
    }
    std::printf("%s\n", name.c_str());
  }
  return code;
}

int RunConnect(const GlobalOptions& g, const std::string& network, const std::string& container,
               bool disconnect, bool force) {
  absl::StatusOr<Session> s = Connect(g);
  if (!s.ok()) return ReportError(s.status());
  grpc::Status st;
  google::protobuf::Empty e;
  if (disconnect) {
    pb::DisconnectRequest req;
    req.set_network(network);
    req.set_container_id(container);
    req.set_force(force);
    st = s->stub->Disconnect(s->client->Context().get(), req, &e);
  } else {
    pb::ConnectRequest req;
    req.set_network(network);
    req.set_container_id(container);
    st = s->stub->Connect(s->client->Context().get(), req, &e);
  }
  return st.ok() ? 0 : ReportError(CallError(*s->client, st));
}

// `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: "80/tcp -> 127.0.0.1:18080".
int RunPort(const GlobalOptions& g, const std::string& container, const std::string& filter) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(g);
  if (!client.ok()) return ReportError(client.status());
  if (absl::Status st = (*client)->Connect(); !st.ok()) return ReportError(st);
  ContainerApi api(**client);
  absl::StatusOr<berth::services::containers::v1::Container> c = api.Get(container);
  if (!c.ok()) return ReportError(c.status());
  auto it = c->labels().find(kLabelPublishedPorts);
  const std::string want =
      filter.empty() || absl::StrContains(filter, "/") ? filter : filter + "/tcp";
  bool any = false;
  if (it != c->labels().end()) {
    for (absl::string_view one : absl::StrSplit(it->second, ", ", absl::SkipEmpty())) {
      // "IP:HOST->CONTAINER/PROTO"
      const size_t arrow = one.find("->");
      if (arrow == absl::string_view::npos) continue;
      const std::string host(one.substr(0, arrow)), inside(one.substr(arrow + 2));
      if (!want.empty() && inside != want) continue;
      any = true;
      if (want.empty()) {
        std::printf("%s -> %s\n", inside.c_str(), host.c_str());
      } else {
        std::printf("%s\n", host.c_str());
      }
    }
  }
  if (!any && !want.empty()) {
    return ReportError(
        absl::NotFoundError(absl::StrCat("No public port '", want, "' published for ", container)));
  }
  return 0;
}

}  // namespace

void AddNetworkCommand(CLI::App& app, Run* run) {
  CLI::App* net = app.add_subcommand("network", "Manage networks");
  net->require_subcommand(1);

  CLI::App* create = net->add_subcommand("create", "Create a network");
  auto cf = std::make_shared<CreateFlags>();
  create->add_option("-d,--driver", cf->driver, "driver to manage the network (bridge)");
  create->add_option("--subnet", cf->subnet,
                     "subnet in CIDR format (default: a free 10.89.N.0/24)");
  create->add_option("--label", cf->labels, "set metadata on a network")->allow_extra_args(false);
  create->add_option("NETWORK", cf->name, "the network's name")->required();
  create->callback(
      [run, cf] { *run = [cf](const GlobalOptions& g) { return RunCreate(g, *cf); }; });

  for (const char* verb : {"ls", "list"}) {
    CLI::App* ls = net->add_subcommand(verb, "List networks");
    auto quiet = std::make_shared<bool>(false);
    auto no_trunc = std::make_shared<bool>(false);
    auto filters = std::make_shared<std::vector<std::string>>();
    ls->add_flag("-q,--quiet", *quiet, "only display network IDs");
    ls->add_flag("--no-trunc", *no_trunc, "do not truncate the output");
    ls->add_option("-f,--filter", *filters, "filter output (name=, id=, driver=, label=)")
        ->allow_extra_args(false);
    ls->callback([run, quiet, no_trunc, filters] {
      *run = [quiet, no_trunc, filters](const GlobalOptions& g) {
        return RunLs(g, *quiet, *no_trunc, *filters);
      };
    });
  }

  CLI::App* inspect = net->add_subcommand("inspect", "Display detailed information on networks");
  auto inames = std::make_shared<std::vector<std::string>>();
  inspect->add_option("NETWORK", *inames, "networks")->required();
  inspect->callback([run, inames] {
    *run = [inames](const GlobalOptions& g) { return RunInspect(g, *inames); };
  });

  for (const char* verb : {"rm", "remove"}) {
    CLI::App* rm = net->add_subcommand(verb, "Remove one or more networks");
    auto names = std::make_shared<std::vector<std::string>>();
    rm->add_option("NETWORK", *names, "networks")->required();
    rm->callback(
        [run, names] { *run = [names](const GlobalOptions& g) { return RunRm(g, *names); }; });
  }

  for (bool disconnect : {false, true}) {
    CLI::App* c = net->add_subcommand(
        disconnect ? "disconnect" : "connect",
        disconnect ? "Disconnect a container from a network" : "Connect a container to a network");
    auto network = std::make_shared<std::string>();
    auto container = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    if (disconnect) c->add_flag("-f,--force", *force, "force the container to disconnect");
    c->add_option("NETWORK", *network, "the network")->required();
    c->add_option("CONTAINER", *container, "the container")->required();
    c->callback([run, network, container, disconnect, force] {
      *run = [network, container, disconnect, force](const GlobalOptions& g) {
        return RunConnect(g, *network, *container, disconnect, *force);
      };
    });
  }
}

void AddPortCommand(CLI::App& app, Run* run) {
  CLI::App* cmd =
      app.add_subcommand("port", "List port mappings or a specific mapping for the container");
  auto container = std::make_shared<std::string>();
  auto port = std::make_shared<std::string>();
  cmd->add_option("CONTAINER", *container, "the container")->required();
  cmd->add_option("PRIVATE_PORT", *port, "PRIVATE_PORT[/PROTO]");
  cmd->callback([run, container, port] {
    *run = [container, port](const GlobalOptions& g) { return RunPort(g, *container, *port); };
  });
}

}  // namespace berth::ctl
