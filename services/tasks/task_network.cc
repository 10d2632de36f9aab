// TaskManager's networking: a new task's endpoints and name files, and connecting a running
// container to networks or disconnecting it.
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "services/tasks/task_manager.h"
#include "services/tasks/task_manager_internal.h"

namespace berth::tasks {

absl::StatusOr<std::vector<network::Endpoint>> TaskManager::PrepareNetworking(
    Task& task, const cpb::Container& c, nlohmann::json& spec) {
  std::vector<network::Endpoint> endpoints;
  auto mode_label = c.labels().find(kNetworkLabel);
  if (mode_label == c.labels().end() || config_.networks == nullptr) return endpoints;
  const std::string mode =
      mode_label->second == "default" ? config_.default_network : mode_label->second;
  const std::string hostname = spec.contains("hostname") && spec["hostname"].is_string()
                                   ? spec["hostname"].get<std::string>()
                                   : task.id.substr(0, 12);
  network::ContainerFiles files;
  if (mode == "host") {
    // The host's own names, copied: the container may change its copy without touching ours.
    char name[256] = {};
    ::gethostname(name, sizeof(name) - 1);
    files = {.hosts = path::Join(task.dir, "hosts"),
             .hostname = path::Join(task.dir, "hostname"),
             .resolv_conf = path::Join(task.dir, "resolv.conf")};
    RETURN_IF_ERROR(
        sys::WriteFileAtomic(files.hosts, sys::ReadFile("/etc/hosts").value_or(""), 0644));
    RETURN_IF_ERROR(sys::WriteFileAtomic(files.hostname, absl::StrCat(name, "\n"), 0644));
    RETURN_IF_ERROR(sys::WriteFileAtomic(files.resolv_conf,
                                         sys::ReadFile("/etc/resolv.conf").value_or(""), 0644));
  } else {
    if (mode != "none") {
      for (absl::string_view net : absl::StrSplit(mode, ',', absl::SkipEmpty())) {
        ASSIGN_OR_RETURN(network::Endpoint e,
                         config_.networks->Allocate(std::string(net), task.ns, task.id, c.name(),
                                                    hostname, absl::StrCat("eth", endpoints.size()),
                                                    path::Join(task.dir, "hosts")));
        task.networks.push_back(e.network);
        endpoints.push_back(std::move(e));
      }
    }
    ASSIGN_OR_RETURN(files, config_.networks->WriteFiles(task.dir, hostname, endpoints));
    for (const std::string& net : task.networks) config_.networks->RefreshHosts(net);
  }
  nlohmann::json mounts = spec.value("mounts", nlohmann::json::array());
  for (const auto& [dest, source] : {std::pair<std::string, std::string>{"/etc/hosts", files.hosts},
                                     {"/etc/hostname", files.hostname},
                                     {"/etc/resolv.conf", files.resolv_conf}}) {
    nlohmann::json kept = nlohmann::json::array();
    for (const nlohmann::json& m : mounts) {
      if (m.value("destination", "") != dest) kept.push_back(m);
    }
    kept.push_back({{"destination", dest},
                    {"type", "bind"},
                    {"source", source},
                    {"options", {"rbind", "rprivate"}}});
    mounts = std::move(kept);
  }
  spec["mounts"] = std::move(mounts);
  return endpoints;
}

std::vector<std::string> TaskManager::NetworksOf(const cpb::Container& c) const {
  auto it = c.labels().find(kNetworkLabel);
  const std::string mode = it == c.labels().end() ? "none" : it->second;
  std::vector<std::string> nets =
      absl::StrSplit(mode == "default" ? config_.default_network : mode, ',', absl::SkipEmpty());
  return nets;
}

absl::Status TaskManager::ConnectNetwork(const std::string& ns, const std::string& ref,
                                         const std::string& net) {
  if (config_.networks == nullptr) return absl::FailedPreconditionError("networking is off");
  ASSIGN_OR_RETURN(cpb::Container c, GetContainer(ns, ref));
  const std::string& id = c.id();
  std::vector<std::string> nets = NetworksOf(c);
  nets.erase(std::remove(nets.begin(), nets.end(), "none"), nets.end());
  if (std::find(nets.begin(), nets.end(), "host") != nets.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", id, " uses the network mode \"", nets.front(),
                     "\", which cannot be combined with other networks"));
  }
  ASSIGN_OR_RETURN(network::NetworkConfig config, config_.networks->Get(net));
  if (std::find(nets.begin(), nets.end(), config.name) != nets.end()) {
    return absl::AlreadyExistsError(
        absl::StrCat("container ", id, " is already on network ", config.name));
  }
  absl::StatusOr<std::shared_ptr<Task>> t = Find(ns, id);
  if (t.ok() && !(*t)->init_exited) {
    absl::StatusOr<::berth::services::tasks::v1::Process> p = State(ns, id, "");
    if (p.ok() && p->pid() != 0) {
      ASSIGN_OR_RETURN(network::Endpoint e,
                       config_.networks->Allocate(config.name, ns, id, c.name(), c.name(),
                                                  absl::StrCat("eth", (*t)->networks.size()),
                                                  path::Join((*t)->dir, "hosts")));
      absl::Status st = config_.networks->Plumb(e, absl::StrCat("/proc/", p->pid(), "/ns/net"));
      if (!st.ok()) {
        config_.networks->Release(config.name, ns, id).IgnoreError();
        return st;
      }
      (*t)->networks.push_back(config.name);
      config_.networks->RefreshHosts(config.name);
    }
  }
  nets.push_back(config.name);
  SetLabels(ns, id, {{kNetworkLabel, absl::StrJoin(nets, ",")}});
  return absl::OkStatus();
}

absl::Status TaskManager::DisconnectNetwork(const std::string& ns, const std::string& ref,
                                            const std::string& net) {
  if (config_.networks == nullptr) return absl::FailedPreconditionError("networking is off");
  ASSIGN_OR_RETURN(cpb::Container c, GetContainer(ns, ref));
  const std::string& id = c.id();
  ASSIGN_OR_RETURN(network::NetworkConfig config, config_.networks->Get(net));
  std::vector<std::string> nets = NetworksOf(c);
  auto it = std::find(nets.begin(), nets.end(), config.name);
  if (it == nets.end()) {
    return absl::NotFoundError(
        absl::StrCat("container ", id, " is not connected to network ", config.name));
  }
  nets.erase(it);
  RETURN_IF_ERROR(config_.networks->Release(config.name, ns, id));
  if (absl::StatusOr<std::shared_ptr<Task>> t = Find(ns, id); t.ok()) {
    auto& tn = (*t)->networks;
    tn.erase(std::remove(tn.begin(), tn.end(), config.name), tn.end());
  }
  SetLabels(ns, id, {{kNetworkLabel, nets.empty() ? "none" : absl::StrJoin(nets, ",")}});
  return absl::OkStatus();
}
}  // namespace berth::tasks
