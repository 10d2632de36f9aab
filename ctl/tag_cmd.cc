// berth tag: gives an image another name.
#include <CLI/CLI.hpp>

#include "berth/services/images/v1/images.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::images::v1;

struct TagOptions {
  std::string source, target;
};

int RunTag(const GlobalOptions& global, const TagOptions& opts) {
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  auto stub = pb::Images::NewStub((*client)->channel());
  pb::TagImageRequest req;
  req.set_source(opts.source);
  req.set_target(opts.target);
  pb::TagImageResponse resp;
  if (grpc::Status st = stub->Tag((*client)->Context().get(), req, &resp); !st.ok()) {
    return ReportError(CallError(**client, st));
  }
  return 0;
}

}  // namespace

void AddTagCommand(CLI::App& app, Run* run) {
  auto opts = std::make_shared<TagOptions>();
  CLI::App* cmd =
      app.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
  cmd->add_option("source", opts->source, "SOURCE_IMAGE[:TAG]")->required();
  cmd->add_option("target", opts->target, "TARGET_IMAGE[:TAG]")->required();
  cmd->callback(
      [run, opts] { *run = [opts](const GlobalOptions& g) { return RunTag(g, *opts); }; });
}

}  // namespace berth::ctl
