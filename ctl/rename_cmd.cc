// berth rename: a container's name, changed in its record (Containers.Update "name").
#include <CLI/CLI.hpp>

#include "absl/strings/str_cat.h"
#include "ctl/commands.h"
#include "ctl/container/names.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

namespace cpb = berth::services::containers::v1;

int RunRename(const GlobalOptions& global, const std::string& from, const std::string& to_flag) {
  absl::StatusOr<std::string> to = ValidateName(to_flag);
  if (!to.ok()) return Failed(to.status());
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());
  ContainerApi api(**client);
  absl::StatusOr<cpb::Container> c = api.Get(from);
  if (!c.ok()) return Failed(c.status());
  if (c->name() == *to) {
    return Failed(absl::FailedPreconditionError(
        "Renaming a container with the same name as its current name"));
  }
  cpb::UpdateContainerRequest req;
  req.mutable_container()->set_id(c->id());
  req.mutable_container()->set_name(*to);
  req.mutable_update_mask()->add_paths("name");
  cpb::UpdateContainerResponse resp;
  grpc::Status st = api.containers().Update((*client)->Context().get(), req, &resp);
  if (st.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
    absl::StatusOr<cpb::Container> other = api.Get(*to);
    return Failed(absl::AlreadyExistsError(absl::StrCat(
        "Conflict. The container name \"/", *to, "\" is already in use by container \"",
        other.ok() ? other->id() : "?",
        "\". You have to remove (or rename) that container to be able to reuse that name.")));
  }
  if (!st.ok()) return Failed(CallError(**client, st));
  return 0;
}

}  // namespace

void AddRenameCommand(CLI::App& app, Run* run) {
  auto names = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* cmd = app.add_subcommand("rename", "Rename a container");
  cmd->add_option("CONTAINER", names->first, "the container, by name or (prefix of) id")
      ->required();
  cmd->add_option("NEW_NAME", names->second, "its new name")->required();
  cmd->callback([run, names] {
    *run = [names](const GlobalOptions& g) { return RunRename(g, names->first, names->second); };
  });
}

}  // namespace berth::ctl
