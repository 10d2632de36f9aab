#include "ctl/volume_api.h"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "ctl/container/mounts.h"
#include "ctl/container_api.h"

namespace berth::ctl {
namespace {

namespace vpb = berth::services::volumes::v1;
namespace cpb = berth::services::containers::v1;
using json = nlohmann::json;

std::vector<std::string> SplitNames(const google::protobuf::Map<std::string, std::string>& labels,
                                    const char* key) {
  auto it = labels.find(key);
  if (it == labels.end()) return {};
  return absl::StrSplit(it->second, ',', absl::SkipEmpty());
}

}  // namespace

void AddVolumeFlags(CLI::App* cmd, VolumeFlags* f) {
  cmd->add_option("-v,--volume", f->volumes,
                  "bind mount a volume: NAME:/path[:ro], /host/path:/path[:ro], or /path")
      ->allow_extra_args(false);
  cmd->add_option("--mount", f->mounts,
                  "attach a filesystem mount: type=volume|bind|tmpfs,source=…,target=…[,readonly]")
      ->allow_extra_args(false);
  cmd->add_option("--volumes-from", f->volumes_from,
                  "mount volumes from the specified container(s): CONTAINER[:ro|rw]")
      ->allow_extra_args(false);
}

VolumeApi::VolumeApi(Client& client)
    : client_(client), stub_(vpb::Volumes::NewStub(client.channel())) {}

absl::StatusOr<VolumeApi::Volume> VolumeApi::Create(
    const std::string& name, const std::string& driver,
    const std::map<std::string, std::string>& labels,
    const std::map<std::string, std::string>& options) {
  vpb::CreateVolumeRequest req;
  req.set_name(name);
  req.set_driver(driver);
  req.mutable_labels()->insert(labels.begin(), labels.end());
  req.mutable_options()->insert(options.begin(), options.end());
  vpb::CreateVolumeResponse resp;
  grpc::Status st = stub_->Create(client_.Context().get(), req, &resp);
  if (!st.ok()) {
    // The service prefixes its own context; the user wants the reason.
    std::string msg = st.error_message();
    if (msg.rfind("volumes Create: ", 0) == 0) msg = msg.substr(16);
    return CallError(client_, grpc::Status(st.error_code(), msg));
  }
  return resp.volume();
}

absl::StatusOr<VolumeApi::Volume> VolumeApi::Inspect(const std::string& name) {
  vpb::InspectVolumeRequest req;
  req.set_name(name);
  vpb::InspectVolumeResponse resp;
  grpc::Status st = stub_->Inspect(client_.Context().get(), req, &resp);
  if (!st.ok()) return CallError(client_, st);
  return resp.volume();
}

absl::StatusOr<std::vector<VolumeApi::Volume>> VolumeApi::List(
    const std::vector<std::string>& filters) {
  vpb::ListVolumesRequest req;
  for (const std::string& f : filters) req.add_filters(f);
  vpb::ListVolumesResponse resp;
  grpc::Status st = stub_->List(client_.Context().get(), req, &resp);
  if (!st.ok()) return CallError(client_, st);
  return std::vector<Volume>(resp.volumes().begin(), resp.volumes().end());
}

absl::Status VolumeApi::Remove(const std::string& name, bool force) {
  vpb::RemoveVolumeRequest req;
  req.set_name(name);
  req.set_force(force);
  google::protobuf::Empty e;
  grpc::Status st = stub_->Remove(client_.Context().get(), req, &e);
  return st.ok() ? absl::OkStatus() : CallError(client_, st);
}

absl::StatusOr<vpb::PruneVolumesResponse> VolumeApi::Prune(
    const std::vector<std::string>& filters) {
  vpb::PruneVolumesRequest req;
  for (const std::string& f : filters) req.add_filters(f);
  vpb::PruneVolumesResponse resp;
  grpc::Status st = stub_->Prune(client_.Context().get(), req, &resp);
  if (!st.ok()) return CallError(client_, st);
  return resp;
}

VolumeGuard::~VolumeGuard() {
  if (anonymous_.empty()) return;
  cpb::GetContainerRequest req;
  req.set_id(container_id_);
  cpb::GetContainerResponse resp;
  grpc::Status st =
      cpb::Containers::NewStub(client_.channel())->Get(client_.Context().get(), req, &resp);
  if (st.error_code() != grpc::StatusCode::NOT_FOUND) return;  // made, or unknown: keep
  VolumeApi volumes(client_);
  for (const std::string& name : anonymous_) volumes.Remove(name).IgnoreError();
}

absl::StatusOr<std::unique_ptr<VolumeGuard>> AddVolumes(
    Client& client, const json& image_config, const VolumeFlags& flags,
    const std::string& container_id, json* spec, std::map<std::string, std::string>* labels) {
  auto guard = std::make_unique<VolumeGuard>(client, container_id);
  const bool any = !flags.volumes.empty() || !flags.mounts.empty() || !flags.volumes_from.empty() ||
                   !ImageVolumes(image_config).empty();
  if (!any) return guard;

  // Everything is parsed before anything is created.
  std::vector<MountRequest> requests;
  std::vector<std::string> targets;
  for (const std::string& v : flags.volumes) {
    ASSIGN_OR_RETURN(MountRequest m, ParseVolumeFlag(v));
    RETURN_IF_ERROR(CheckDuplicate(targets, m.target));
    targets.push_back(m.target);
    requests.push_back(std::move(m));
  }
  for (const std::string& v : flags.mounts) {
    ASSIGN_OR_RETURN(MountRequest m, ParseMountFlag(v));
    RETURN_IF_ERROR(CheckDuplicate(targets, m.target));
    targets.push_back(m.target);
    requests.push_back(std::move(m));
  }
  for (const MountRequest& m : requests) {
    struct stat st;
    if (m.type == MountRequest::Type::kBind && ::stat(m.source.c_str(), &st) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid mount config for type \"bind\": bind source path does not exist: ", m.source));
    }
  }

  std::vector<json> mounts;
  std::vector<std::string> names, anonymous, nocopy;
  auto add_name = [&](const std::string& n) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  };
  // --volumes-from first: -v and --mount at the same place win over what it brings.
  auto containers = cpb::Containers::NewStub(client.channel());
  for (const std::string& raw : flags.volumes_from) {
    ASSIGN_OR_RETURN(VolumesFrom from, ParseVolumesFrom(raw));
    cpb::GetContainerRequest req;
    req.set_id(from.container);
    cpb::GetContainerResponse resp;
    grpc::Status st = containers->Get(client.Context().get(), req, &resp);
    if (st.error_code() == grpc::StatusCode::NOT_FOUND) {
      return absl::NotFoundError(absl::StrCat("No such container: ", from.container));
    }
    if (!st.ok()) return CallError(client, st);
    const std::vector<std::string> source_volumes =
        SplitNames(resp.container().labels(), kLabelVolumes);
    for (json m : UserMounts(json::parse(resp.container().spec(), nullptr, false))) {
      const std::string dest = m.value("destination", "");
      if (std::find(targets.begin(), targets.end(), dest) != targets.end()) continue;
      mounts.erase(std::remove_if(mounts.begin(), mounts.end(),
                                  [&](const json& o) { return o["destination"] == dest; }),
                   mounts.end());
      if (from.readonly.has_value()) {
        std::vector<std::string> options = m.value("options", std::vector<std::string>{});
        options.erase(std::remove_if(options.begin(), options.end(),
                                     [](const std::string& o) { return o == "ro" || o == "rw"; }),
                      options.end());
        if (*from.readonly) options.push_back("ro");
        m["options"] = options;
      }
      const std::string source = m.value("source", "");
      if (path::Base(source) == "_data") {
        const std::string name = path::Base(path::Dir(source));
        if (std::find(source_volumes.begin(), source_volumes.end(), name) != source_volumes.end()) {
          add_name(name);
        }
      }
      mounts.push_back(std::move(m));
    }
  }
  for (const json& m : mounts) targets.push_back(m.value("destination", ""));

  VolumeApi volumes(client);
  auto make_volume = [&](const MountRequest& m) -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(VolumeApi::Volume v,
                     volumes.Create(m.source, m.driver, m.volume_labels, m.volume_options));
    if (m.source.empty()) {
      guard->Add(v.name());
      anonymous.push_back(v.name());
    }
    add_name(v.name());
    if (m.nocopy) nocopy.push_back(m.target);
    return v.mountpoint();
  };
  for (const MountRequest& m : requests) {
    std::string source = m.source;
    if (m.type == MountRequest::Type::kVolume) {
      ASSIGN_OR_RETURN(source, make_volume(m));
    }
    mounts.push_back(OciMount(m, source));
  }
  // The image's VOLUMEs, where nothing else is mounted (nor a --tmpfs).
  std::vector<std::string> taken = targets;
  if (spec->contains("mounts") && (*spec)["mounts"].is_array()) {
    for (const json& m : (*spec)["mounts"]) {
      if (m.value("type", "") == "tmpfs" && m.value("source", "") == "tmpfs") {
        taken.push_back(m.value("destination", ""));
      }
    }
  }
  for (const std::string& dest : ImageVolumes(image_config)) {
    if (std::find(taken.begin(), taken.end(), dest) != taken.end()) continue;
    MountRequest m{.type = MountRequest::Type::kVolume, .target = dest};
    ASSIGN_OR_RETURN(std::string source, make_volume(m));
    mounts.push_back(OciMount(m, source));
  }
  AddMountsToSpec(*spec, std::move(mounts), nocopy);
  if (!names.empty()) (*labels)[kLabelVolumes] = absl::StrJoin(names, ",");
  if (!anonymous.empty()) (*labels)[kLabelAnonymousVolumes] = absl::StrJoin(anonymous, ",");
  return guard;
}

absl::Status RemoveAnonymousVolumes(ContainerApi& api, const cpb::Container& c) {
  VolumeApi volumes(api.client());
  absl::Status first;
  for (const std::string& name : SplitNames(c.labels(), kLabelAnonymousVolumes)) {
    absl::Status st = volumes.Remove(name);
    // In use by another container (--volumes-from): it stays, as in Docker.
    if (st.ok() || absl::IsNotFound(st) || absl::IsFailedPrecondition(st)) continue;
    if (first.ok()) first = st;
  }
  return first;
}

}  // namespace berth::ctl
