// berth rmi: removes image names (or an unnamed image, by its ID); the blobs nothing else uses
// are collected before it returns.
//
// The daemon's Delete removes one record, as containerd's does; Docker's rules for an image with
// several names live here. By name, only that name goes. By ID (or digest prefix), every name of
// the image goes, and so the image: unless the names are tags in more than one repository (or
// several tags of one), which Docker refuses without -f.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "common/status_macros.h"
#include "ctl/commands.h"
#include "ctl/image_format.h"
#include "ctl/image_info.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::images::v1;

// "sha256:<hex prefix>" when `ref` can be an image ID or digest prefix (what the daemon's
// lookup accepts), else empty.
std::string IdPrefix(const std::string& ref) {
  absl::string_view hex = ref;
  absl::ConsumePrefix(&hex, "sha256:");
  if (hex.size() < 4 || hex.size() > 64) return "";
  for (char c : hex) {
    if (!absl::ascii_isdigit(c) && (c < 'a' || c > 'f')) return "";
  }
  return absl::StrCat("sha256:", hex);
}

// Docker's isSingleReference: at most one tag, and every name in one repository.
bool SingleReference(const std::vector<std::string>& names) {
  std::set<std::string> repositories;
  int tags = 0;
  for (const std::string& name : names) {
    RepoTag rt = SplitName(name);
    repositories.insert(rt.repository);
    if (rt.digest.empty()) ++tags;
  }
  return repositories.size() <= 1 && tags <= 1;
}

absl::Status DeleteRecord(Client& client, pb::Images::Stub& stub, const std::string& name) {
  pb::DeleteImageRequest del;
  del.set_name(name);
  del.set_sync(true);
  google::protobuf::Empty empty;
  grpc::Status st = stub.Delete(client.Context().get(), del, &empty);
  return st.ok() ? absl::OkStatus() : CallError(client, st);
}

// Removes every record of the image `image` is a record of (same image ID), as Docker's rmi by
// ID does. `id` is its config digest, or its target's when the config cannot be read.
absl::Status RemoveById(Client& client, pb::Images::Stub& stub, const pb::Image& image,
                        const std::string& id, bool force) {
  pb::ListImagesRequest list_req;
  pb::ListImagesResponse list;
  grpc::Status st = stub.List(client.Context().get(), list_req, &list);
  if (!st.ok()) return CallError(client, st);
  std::vector<std::string> records, names;
  for (const pb::Image& other : list.images()) {
    if (other.target().digest() != image.target().digest()) {
      absl::StatusOr<ImageDetails> d = DescribeImage(client, other);
      if (!d.ok() || d->id != id) continue;
    }
    records.push_back(other.name());
    if (!IsDangling(other.name())) names.push_back(other.name());
  }
  if (!force && !SingleReference(names)) {
    return absl::FailedPreconditionError(
        absl::StrCat("Error response from daemon: conflict: unable to delete ", ShortId(id, false),
                     " (must be forced) - image is referenced in multiple repositories"));
  }
  std::sort(records.begin(), records.end(), [](const std::string& a, const std::string& b) {
    return FamiliarName(a) < FamiliarName(b);
  });
  for (const std::string& name : records) {
    RETURN_IF_ERROR(DeleteRecord(client, stub, name));
    if (!IsDangling(name)) std::printf("Untagged: %s\n", FamiliarName(name).c_str());
  }
  std::printf("Deleted: %s\n", id.c_str());
  return absl::OkStatus();
}

int RunRmi(const GlobalOptions& global, const std::vector<std::string>& images, bool force) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(global);
  if (!client.ok()) return ReportError(client.status());
  if (absl::Status st = (*client)->Connect(); !st.ok()) return ReportError(st);
  auto stub = pb::Images::NewStub((*client)->channel());
  int rc = 0;
  for (const std::string& ref : images) {
    pb::GetImageRequest get;
    get.set_name(ref);
    pb::GetImageResponse got;
    // By name, or by image ID or digest prefix (the daemon resolves either).
    grpc::Status st = stub->Get((*client)->Context().get(), get, &got);
    if (!st.ok()) {
      rc = ReportError(CallError(**client, st));
      continue;
    }
    const pb::Image& image = got.image();
    std::string id = image.target().digest();
    const std::string prefix = IdPrefix(ref);
    if (IsDangling(image.name()) || !prefix.empty()) {
      absl::StatusOr<ImageDetails> details = DescribeImage(**client, image);
      if (details.ok()) id = details->id;
    }
    // The daemon tries the name first: a named record whose digests do not start with the
    // prefix was found by its name.
    absl::Status removed;
    if (IsDangling(image.name()) ||
        (!prefix.empty() &&
         (absl::StartsWith(image.target().digest(), prefix) || absl::StartsWith(id, prefix)))) {
      removed = RemoveById(**client, *stub, image, id, force);
    } else {
      removed = DeleteRecord(**client, *stub, image.name());
      if (removed.ok()) std::printf("Untagged: %s\n", FamiliarName(image.name()).c_str());
    }
    if (!removed.ok()) rc = ReportError(removed);
  }
  return rc;
}

}  // namespace

void AddRmiCommand(CLI::App& app, Run* run) {
  auto images = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("rmi", "Remove one or more images");
  cmd->add_flag("-f,--force", *force, "Force removal of the image");
  cmd->add_option("images", *images, "images to remove")->required();
  cmd->callback([run, images, force] {
    *run = [images, force](const GlobalOptions& g) { return RunRmi(g, *images, *force); };
  });
}

}  // namespace berth::ctl
