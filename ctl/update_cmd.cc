// berth update: change a container's resource limits (in place on a running one, through the
// tasks service's Update) and its restart policy.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "ctl/commands.h"
#include "ctl/container/labels.h"
#include "ctl/container/restart_policy.h"
#include "ctl/container/run_flags.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

namespace tpb = berth::services::tasks::v1;

struct UpdateFlags {
  std::string memory, memory_swap, cpus, cpuset_cpus, restart;
  int64_t cpu_shares = 0, pids_limit = 0;
  std::vector<std::string> containers;
};

// The OCI linux.resources object for the flags given; INVALID_ARGUMENT for bad values.
absl::StatusOr<nlohmann::json> Resources(const CLI::App& cmd, const UpdateFlags& f) {
  nlohmann::json r = nlohmann::json::object();
  if (cmd.count("--memory") > 0) {
    absl::StatusOr<int64_t> m = ParseMemoryBytes(f.memory);
    if (!m.ok()) return m.status();
    r["memory"]["limit"] = *m;
  }
  if (cmd.count("--memory-swap") > 0) {
    int64_t swap = -1;
    if (f.memory_swap != "-1") {
      absl::StatusOr<int64_t> s = ParseMemoryBytes(f.memory_swap);
      if (!s.ok()) return s.status();
      swap = *s;
    }
    r["memory"]["swap"] = swap;
  }
  if (cmd.count("--cpus") > 0) {
    absl::StatusOr<int64_t> nano = ParseNanoCpus(f.cpus);
    if (!nano.ok()) return nano.status();
    constexpr int64_t kPeriod = 100000;
    r["cpu"]["period"] = kPeriod;
    r["cpu"]["quota"] = *nano == 0 ? -1 : *nano * kPeriod / 1000000000;
  }
  if (cmd.count("--cpu-shares") > 0) r["cpu"]["shares"] = f.cpu_shares;
  if (cmd.count("--cpuset-cpus") > 0) r["cpu"]["cpus"] = f.cpuset_cpus;
  if (cmd.count("--pids-limit") > 0) r["pids"]["limit"] = f.pids_limit <= 0 ? -1 : f.pids_limit;
  return r;
}

int RunUpdate(const GlobalOptions& global, const CLI::App& cmd, const UpdateFlags& f) {
  absl::StatusOr<nlohmann::json> resources = Resources(cmd, f);
  if (!resources.ok()) return ReportError(resources.status());
  absl::optional<RestartPolicy> policy;
  if (cmd.count("--restart") > 0) {
    absl::StatusOr<RestartPolicy> p = ParseRestartPolicy(f.restart);
    if (!p.ok()) return ReportError(p.status());
    policy = *p;
  }
  if (resources->empty() && !policy.has_value()) {
    return ReportError(
        absl::InvalidArgumentError("you must provide one or more flags when using this command"));
  }
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  ContainerApi api(**client);
  int code = 0;
  for (const std::string& ref : f.containers) {
    absl::StatusOr<ContainerView> v = api.View(ref);
    if (!v.ok()) {
      code = ReportError(v.status());
      continue;
    }
    if (policy.has_value()) {
      if (policy->mode != RestartPolicy::Mode::kNo && v->record.auto_remove()) {
        code = ReportError(absl::InvalidArgumentError(
            "Restart policy cannot be updated because AutoRemove is enabled for the container"));
        continue;
      }
      if (absl::Status st =
              api.SetLabels(v->record.id(), {{kLabelRestartPolicy, policy->ToString()}});
          !st.ok()) {
        code = ReportError(st);
        continue;
      }
    }
    if (!resources->empty()) {
      // The record's spec, so that the next start has the new limits too.
      nlohmann::json spec = nlohmann::json::parse(v->record.spec(), nullptr, false);
      if (spec.is_object()) {
        nlohmann::json& current = spec["linux"]["resources"];
        if (!current.is_object()) current = nlohmann::json::object();
        current.merge_patch(*resources);
        berth::services::containers::v1::UpdateContainerRequest req;
        req.mutable_container()->set_id(v->record.id());
        req.mutable_container()->set_spec(spec.dump());
        req.mutable_update_mask()->add_paths("spec");
        berth::services::containers::v1::UpdateContainerResponse resp;
        grpc::Status st = api.containers().Update((*client)->Context().get(), req, &resp);
        if (!st.ok()) {
          code = ReportError(CallError(**client, st));
          continue;
        }
      }
      if (v->running()) {
        tpb::UpdateTaskRequest req;
        req.set_container_id(v->record.id());
        req.set_resources(resources->dump());
        google::protobuf::Empty e;
        grpc::Status st = api.tasks().Update((*client)->Context().get(), req, &e);
        if (!st.ok()) {
          code = ReportError(CallError(**client, st));
          continue;
        }
      }
    }
    std::printf("%s\n", ref.c_str());
  }
  return code;
}

}  // namespace

void AddUpdateCommand(CLI::App& app, Run* run) {
  CLI::App* cmd = app.add_subcommand("update", "Update configuration of one or more containers");
  auto f = std::make_shared<UpdateFlags>();
  cmd->add_option("-m,--memory", f->memory, "memory limit");
  cmd->add_option("--memory-swap", f->memory_swap, "memory plus swap limit (-1: unlimited)");
  cmd->add_option("--cpus", f->cpus, "number of CPUs");
  cmd->add_option("--cpu-shares", f->cpu_shares, "CPU shares (relative weight)");
  cmd->add_option("--cpuset-cpus", f->cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
  cmd->add_option("--pids-limit", f->pids_limit, "tune the container's pids limit (-1: none)");
  cmd->add_option("--restart", f->restart, "restart policy to apply when a container exits");
  cmd->add_option("CONTAINER", f->containers, "containers")->required();
  cmd->callback([run, f, cmd] {
    *run = [f, cmd](const GlobalOptions& g) { return RunUpdate(g, *cmd, *f); };
  });
}

}  // namespace berth::ctl
