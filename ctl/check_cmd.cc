// berth system check [--fix]: asks berthd whether its records agree with the disk, the mount
// table, the shims and the cgroups (berth.services.check.v1), one line per problem. Exit 0 when
// nothing dangles (or --fix repaired all of it), 1 otherwise.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "berth/services/check/v1/check.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::check::v1;

// The counts in a stable order, the ones named first.
std::string Checked(const google::protobuf::Map<std::string, int64_t>& checked) {
  static const char* const kOrder[] = {"images", "containers", "snapshots", "ingests",
                                       "tasks",  "shims",      "mounts",    "cgroups"};
  std::vector<std::string> parts;
  for (const char* k : kOrder) {
    auto it = checked.find(k);
    parts.push_back(absl::StrCat(it == checked.end() ? 0 : it->second, " ", k));
  }
  return absl::StrJoin(parts, ", ");
}

int RunCheck(const GlobalOptions& global, bool fix) {
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  pb::CheckRequest req;
  req.set_fix(fix);
  pb::CheckResponse resp;
  grpc::Status st =
      pb::Check::NewStub((*client)->channel())->Check((*client)->Context().get(), req, &resp);
  if (!st.ok()) return ReportError(CallError(**client, st));
  int open = 0;
  for (const pb::Finding& f : resp.findings()) {
    if (!f.fixed()) ++open;
    std::printf("%s: %s%s: %s%s\n", f.area().c_str(), f.object().c_str(),
                f.namespace_().empty() ? "" : (" (namespace " + f.namespace_() + ")").c_str(),
                f.problem().c_str(), f.fixed() ? " [fixed]" : "");
  }
  const int fixed = resp.findings_size() - open;
  std::printf("checked %s: %s\n", Checked(resp.checked()).c_str(),
              resp.findings_size() == 0
                  ? "nothing dangles"
                  : absl::StrCat(resp.findings_size(), " problem(s)",
                                 fix ? absl::StrCat(", ", fixed, " fixed") : "")
                        .c_str());
  return open > 0 ? kExitError : 0;
}

}  // namespace

void AddSystemCheckCommand(CLI::App& system, Run* run) {
  auto fix = std::make_shared<bool>(false);
  CLI::App* cmd = system.add_subcommand(
      "check", "Check that records, content, snapshots, mounts, shims and cgroups agree");
  cmd->add_flag("--fix", *fix,
                "repair what is safe: unmount mounts nothing owns, remove empty leftover cgroups, "
                "abandoned ingests and the snapshots of interrupted work");
  cmd->callback([run, fix] { *run = [fix](const GlobalOptions& g) { return RunCheck(g, *fix); }; });
}

}  // namespace berth::ctl
