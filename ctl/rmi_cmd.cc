// berth rmi: removes image names (or an unnamed image, by its ID); the blobs nothing else uses
// are collected before it returns.
//
// The daemon's Delete removes one record, as containerd's does; Docker's rules for an image with
// several names live here. By name, only that name goes. By ID (or digest prefix), every name of
// the image goes, and so the image: unless the names are tags in more than one repository (or
// several tags of one), which Docker refuses without -f. So do Docker's container conflicts: a
// container records the ID of the image it was made from (berth.io/image-id); one made before
// berth recorded it has only its image name, which the CLI maps to an image ID.
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
#include "ctl/container_api.h"
#include "ctl/container_query.h"
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

// The containers of the namespace and the image ID each was made from: the recorded one, else
// its image name's (empty when that no longer resolves), read once per rmi, before any name
// goes: so that a container without a recorded ID keeps its image ID while this rmi untags the
// name it records.
class ContainerImages {
 public:
  explicit ContainerImages(Client& client) : client_(client) {}

  // The first container (newest first) made from image `id`: a running one when
  // `running_only`. Null when none, or when the containers could not be listed.
  const ContainerView* User(const std::string& id, bool running_only) const {
    for (const auto& [view, image_id] : containers_) {
      if (image_id == id && (!running_only || view.running())) return &view;
    }
    return nullptr;
  }

  void Load() {
    ContainerApi api(client_);
    absl::StatusOr<std::vector<ContainerView>> views = api.List();
    if (!views.ok()) return;
    ImageCache images(client_);
    for (ContainerView& v : *views) {
      std::string id = images.IdOf(v.record);
      containers_.emplace_back(std::move(v), std::move(id));
    }
  }

 private:
  Client& client_;
  std::vector<std::pair<ContainerView, std::string>> containers_;
};

std::string ShortContainerId(const ContainerView& v) { return v.record.id().substr(0, 12); }

absl::Status DeleteRecord(Client& client, pb::Images::Stub& stub, const std::string& name) {
  pb::DeleteImageRequest del;
  del.set_name(name);
  del.set_sync(true);
  google::protobuf::Empty empty;
  grpc::Status st = stub.Delete(client.Context().get(), del, &empty);
  return st.ok() ? absl::OkStatus() : CallError(client, st);
}

// Every record of the image `image` is a record of (same image ID). `id` is its config digest,
// or its target's when the config cannot be read.
absl::StatusOr<std::vector<std::string>> RecordsOf(Client& client, pb::Images::Stub& stub,
                                                   const pb::Image& image, const std::string& id) {
  pb::ListImagesRequest list_req;
  pb::ListImagesResponse list;
  grpc::Status st = stub.List(client.Context().get(), list_req, &list);
  if (!st.ok()) return CallError(client, st);
  std::vector<std::string> records;
  for (const pb::Image& other : list.images()) {
    if (other.target().digest() != image.target().digest()) {
      absl::StatusOr<ImageDetails> d = DescribeImage(client, other);
      if (!d.ok() || d->id != id) continue;
    }
    records.push_back(other.name());
  }
  return records;
}

std::vector<std::string> Names(const std::vector<std::string>& records) {
  std::vector<std::string> names;
  for (const std::string& r : records) {
    if (!IsDangling(r)) names.push_back(r);
  }
  return names;
}

// Removes every record of the image, as Docker's rmi by ID does.
absl::Status RemoveById(Client& client, pb::Images::Stub& stub, const ContainerImages& containers,
                        const pb::Image& image, const std::string& id, bool force) {
  ASSIGN_OR_RETURN(std::vector<std::string> records, RecordsOf(client, stub, image, id));
  const std::vector<std::string> names = Names(records);
  // Docker's checkImageDeleteConflict, in its order: a running container, then several
  // names, then a stopped container; -f overrides all but the first.
  const std::string conflict =
      absl::StrCat("Error response from daemon: conflict: unable to delete ", ShortId(id, false));
  if (const ContainerView* c = containers.User(id, /*running_only=*/true)) {
    return absl::FailedPreconditionError(
        absl::StrCat(conflict, " (cannot be forced) - image is being used by running container ",
                     ShortContainerId(*c)));
  }
  if (!force && !SingleReference(names)) {
    return absl::FailedPreconditionError(
        absl::StrCat(conflict, " (must be forced) - image is referenced in multiple repositories"));
  }
  if (const ContainerView* c = containers.User(id, /*running_only=*/false);
      c != nullptr && !force) {
    return absl::FailedPreconditionError(
        absl::StrCat(conflict, " (must be forced) - image is being used by stopped container ",
                     ShortContainerId(*c)));
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

// By name: that name goes. Unless it is the image's only reference (Docker's
// isSingleReference) and a container uses the image, which needs -f: the image's content that
// the container's snapshot does not hold is then collected, as with any last name.
absl::Status RemoveName(Client& client, pb::Images::Stub& stub, const ContainerImages& containers,
                        const std::string& ref, const pb::Image& image, const std::string& id,
                        bool force) {
  if (!force) {
    ASSIGN_OR_RETURN(std::vector<std::string> records, RecordsOf(client, stub, image, id));
    const ContainerView* c = nullptr;
    if (SingleReference(Names(records)) && (c = containers.User(id, false)) != nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "Error response from daemon: conflict: unable to remove repository reference \"", ref,
          "\" (must force) - container ", ShortContainerId(*c), " is using its referenced image ",
          ShortId(id, false)));
    }
  }
  RETURN_IF_ERROR(DeleteRecord(client, stub, image.name()));
  std::printf("Untagged: %s\n", FamiliarName(image.name()).c_str());
  return absl::OkStatus();
}

int RunRmi(const GlobalOptions& global, const std::vector<std::string>& images, bool force) {
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  auto stub = pb::Images::NewStub((*client)->channel());
  ContainerImages containers(**client);
  containers.Load();
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
    absl::StatusOr<ImageDetails> details = DescribeImage(**client, image);
    if (details.ok()) id = details->id;
    // The daemon tries the name first: a named record whose digests do not start with the
    // prefix was found by its name.
    absl::Status removed;
    if (IsDangling(image.name()) ||
        (!prefix.empty() &&
         (absl::StartsWith(image.target().digest(), prefix) || absl::StartsWith(id, prefix)))) {
      removed = RemoveById(**client, *stub, containers, image, id, force);
    } else {
      removed = RemoveName(**client, *stub, containers, ref, image, id, force);
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
