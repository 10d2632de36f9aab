// berth image inspect: an image's record, manifest and config as JSON, shaped like Docker's.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "absl/time/time.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"
#include "ctl/image_format.h"
#include "ctl/image_info.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::images::v1;
using nlohmann::json;

int RunInspect(const GlobalOptions& global, const std::vector<std::string>& names) {
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  auto stub = pb::Images::NewStub((*client)->channel());
  json out = json::array();
  int rc = 0;
  for (const std::string& name : names) {
    pb::GetImageRequest req;
    req.set_name(name);
    pb::GetImageResponse resp;
    if (grpc::Status st = stub->Get((*client)->Context().get(), req, &resp); !st.ok()) {
      rc = ReportError(CallError(**client, st));
      continue;
    }
    const pb::Image& image = resp.image();
    absl::StatusOr<ImageDetails> d = DescribeImage(**client, image);
    if (!d.ok()) {
      rc = ReportError(d.status());
      continue;
    }
    RepoTag rt = SplitName(image.name());
    json j = {
        {"Id", d->id},
        {"RepoTags", rt.digest.empty() && !rt.dangling ? json::array({FamiliarName(image.name())})
                                                       : json::array()},
        {"RepoDigests",
         rt.digest.empty() ? json::array() : json::array({FamiliarName(image.name())})},
        {"Created", d->config.value("created", "")},
        {"Architecture", d->config.value("architecture", "")},
        {"Os", d->config.value("os", "")},
        {"Size", d->size},
        {"Config", d->config.contains("config") ? d->config["config"] : json::object()},
        {"RootFS", d->config.contains("rootfs") ? d->config["rootfs"] : json::object()},
        {"Labels",
         json(std::map<std::string, std::string>(image.labels().begin(), image.labels().end()))},
        {"Target",
         {{"mediaType", image.target().media_type()},
          {"digest", image.target().digest()},
          {"size", image.target().size()}}},
        {"Manifest", d->manifest_digest}};
    out.push_back(std::move(j));
  }
  std::printf("%s\n", out.dump(4, ' ', false, json::error_handler_t::replace).c_str());
  return rc;
}

}  // namespace

void AddImageCommand(CLI::App& app, Run* run) {
  CLI::App* image = app.add_subcommand("image", "Manage images");
  image->require_subcommand(1);
  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* inspect = image->add_subcommand("inspect", "Display detailed information on images");
  inspect->add_option("images", *names, "images to inspect")->required();
  inspect->callback(
      [run, names] { *run = [names](const GlobalOptions& g) { return RunInspect(g, *names); }; });
}

}  // namespace berth::ctl
