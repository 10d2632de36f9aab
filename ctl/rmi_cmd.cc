// berth rmi: removes image names (or an unnamed image, by its ID); the blobs nothing else uses
// are collected before it returns.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "berth/services/images/v1/images.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/image_format.h"
#include "ctl/image_info.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::images::v1;

int RunRmi(const GlobalOptions& global, const std::vector<std::string>& images) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(global);
  if (!client.ok()) return ReportError(client.status());
  if (absl::Status st = (*client)->Connect(); !st.ok()) return ReportError(st);
  auto stub = pb::Images::NewStub((*client)->channel());
  int rc = 0;
  for (const std::string& name : images) {
    pb::GetImageRequest get;
    get.set_name(name);
    pb::GetImageResponse image;
    // By name, or by image ID or digest prefix (the daemon resolves either).
    grpc::Status st = stub->Get((*client)->Context().get(), get, &image);
    absl::StatusOr<ImageDetails> details = absl::UnknownError("not read");
    if (st.ok() && IsDangling(image.image().name()))
      details = DescribeImage(**client, image.image());
    if (st.ok()) {
      pb::DeleteImageRequest del;
      del.set_name(image.image().name());
      del.set_sync(true);
      google::protobuf::Empty empty;
      st = stub->Delete((*client)->Context().get(), del, &empty);
    }
    if (!st.ok()) {
      rc = ReportError(CallError(**client, st));
      continue;
    }
    if (!IsDangling(image.image().name())) {
      std::printf("Untagged: %s\n", FamiliarName(image.image().name()).c_str());
    } else {
      // Docker prints the ID of an image that goes with no name to untag.
      std::printf("Deleted: %s\n",
                  details.ok() ? details->id.c_str() : image.image().target().digest().c_str());
    }
  }
  return rc;
}

}  // namespace

void AddRmiCommand(CLI::App& app, Run* run) {
  auto images = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand("rmi", "Remove one or more images");
  cmd->add_option("images", *images, "images to remove")->required();
  cmd->callback(
      [run, images] { *run = [images](const GlobalOptions& g) { return RunRmi(g, *images); }; });
}

}  // namespace berth::ctl
