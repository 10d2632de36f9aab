#include "services/volumes/volumes_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "common/filter.h"
#include "common/grpc_status.h"
#include "common/namespace.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/unique_fd.h"
#include "services/common/proto_time.h"
#include "services/common/request_metadata.h"
#include "services/metadata/content_records.h"
#include "services/volumes/local.h"
#include "snapshotter/storage/fsutil.h"

namespace berth::services {
namespace {

namespace pb = ::berth::services::volumes::v1;
namespace cpb = ::berth::services::containers::v1;
namespace md = ::berth::metadata;
namespace vol = ::berth::volumes;
using ::berth::sqlite::Db;

constexpr auto kCallDeadline = std::chrono::seconds(30);

absl::StatusOr<std::string> RandomName() {
  ASSIGN_OR_RETURN(UniqueFd fd, sys::Open("/dev/urandom", O_RDONLY | O_CLOEXEC));
  unsigned char buf[32];
  size_t got = 0;
  while (got < sizeof(buf)) {
    const ssize_t n =
        sys::RetryEintr([&] { return ::read(fd.get(), buf + got, sizeof(buf) - got); });
    if (n <= 0) return ErrnoStatus("read(/dev/urandom)", n < 0 ? errno : EIO);
    got += static_cast<size_t>(n);
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(buf), sizeof(buf)));
}

absl::optional<std::string> Field(const pb::Volume& v, const std::vector<std::string>& f,
                                  bool all) {
  if (f.size() == 1) {
    if (f[0] == "name") return v.name();
    if (f[0] == "driver") return v.driver();
    if (f[0] == "mountpoint") return v.mountpoint();
    if (f[0] == "anonymous") return v.anonymous() ? "true" : "false";
    if (f[0] == "dangling") return v.ref_count() == 0 ? "true" : "false";
    if (f[0] == "all") return all ? "true" : "false";
  }
  if (f.size() == 2 && (f[0] == "labels" || f[0] == "options")) {
    const auto& m = f[0] == "labels" ? v.labels() : v.options();
    auto it = m.find(f[1]);
    if (it != m.end()) return it->second;
  }
  return absl::nullopt;
}

absl::Status NoSuchVolume(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("No such volume: ", name));
}

}  // namespace

VolumesService::VolumesService(std::shared_ptr<md::MetadataStore> md, std::string root,
                               ChannelSource channels)
    : md_(std::move(md)), volumes_root_(vol::VolumesRoot(root)), channels_(std::move(channels)) {}

pb::Volume VolumesService::ToProto(const md::VolumeRow& row, size_t users) const {
  pb::Volume v;
  v.set_name(row.name);
  v.set_driver(row.driver);
  v.set_mountpoint(vol::DataDir(volumes_root_, row.ns, row.name));
  v.mutable_labels()->insert(row.labels.begin(), row.labels.end());
  v.mutable_options()->insert(row.options.begin(), row.options.end());
  ::berth::services::ToProto(row.created_at, v.mutable_created_at());
  v.set_anonymous(row.anonymous);
  v.set_ref_count(static_cast<int64_t>(users));
  return v;
}

absl::StatusOr<std::map<std::string, std::vector<std::string>>> VolumesService::Users(
    const std::string& ns) {
  std::shared_ptr<grpc::Channel> ch = channels_ ? channels_("containers") : nullptr;
  if (ch == nullptr) {
    return absl::UnavailableError(
        "the containers service is not configured, so which volumes are in use is unknown");
  }
  grpc::ClientContext ctx;
  ctx.AddMetadata(kNamespaceMetadataKey, ns);
  ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  cpb::ListContainersResponse resp;
  grpc::Status st = cpb::Containers::NewStub(ch)->List(&ctx, {}, &resp);
  if (!st.ok()) return Annotate(FromGrpcStatus(st), "listing the containers that use volumes");
  const std::string prefix = path::Join(volumes_root_, ns) + "/";
  std::map<std::string, std::vector<std::string>> users;
  for (const cpb::Container& c : resp.containers()) {
    std::set<std::string> names;
    if (auto it = c.labels().find(vol::kVolumesLabel); it != c.labels().end()) {
      for (absl::string_view n : absl::StrSplit(it->second, ',', absl::SkipEmpty())) {
        names.emplace(n);
      }
    }
    // Containers made through the API alone: a bind of <volumes>/<ns>/<name>/_data.
    nlohmann::json spec = nlohmann::json::parse(c.spec(), nullptr, false);
    if (spec.is_object() && spec.contains("mounts") && spec["mounts"].is_array()) {
      for (const nlohmann::json& m : spec["mounts"]) {
        if (!m.is_object() || !m.contains("source") || !m["source"].is_string()) continue;
        const std::string source = path::Clean(m["source"].get<std::string>());
        if (!absl::StartsWith(source, prefix) || !absl::EndsWith(source, "/_data")) continue;
        const std::string name =
            source.substr(prefix.size(), source.size() - prefix.size() - strlen("/_data"));
        if (!name.empty() && name.find('/') == std::string::npos) names.insert(name);
      }
    }
    for (const std::string& n : names) users[n].push_back(c.id());
  }
  return users;
}

grpc::Status VolumesService::Create(grpc::ServerContext* context,
                                    const pb::CreateVolumeRequest* req,
                                    pb::CreateVolumeResponse* resp) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = [&]() -> absl::Status {
    const std::string driver = req->driver().empty() ? vol::kLocalDriver : req->driver();
    if (driver != vol::kLocalDriver) {
      return absl::InvalidArgumentError(absl::StrCat(
          "volume driver \"", driver, "\" is not available: berth has only the \"local\" driver"));
    }
    md::VolumeRow row{.ns = *ns, .driver = driver, .created_at = absl::Now()};
    row.labels.insert(req->labels().begin(), req->labels().end());
    row.options.insert(req->options().begin(), req->options().end());
    RETURN_IF_ERROR(md::ValidateLabels(row.labels));
    RETURN_IF_ERROR(vol::ParseLocalOptions(row.options).status());
    if (req->name().empty()) {
      ASSIGN_OR_RETURN(row.name, RandomName());
      row.anonymous = true;
    } else {
      RETURN_IF_ERROR(vol::ValidateVolumeName(req->name()));
      row.name = req->name();
    }
    absl::MutexLock l(&mu_);
    absl::optional<md::VolumeRow> existing;
    RETURN_IF_ERROR(md_->db->View([&](Db& db) -> absl::Status {
      ASSIGN_OR_RETURN(existing, md::GetVolume(db, *ns, row.name));
      return absl::OkStatus();
    }));
    if (existing) {
      // As Docker: creating a volume that exists returns it, whatever else was asked.
      if (existing->driver != driver) {
        return absl::AlreadyExistsError(absl::StrCat(
            "volume \"", row.name, "\" already exists with driver \"", existing->driver, "\""));
      }
      *resp->mutable_volume() = ToProto(*existing, 0);
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(vol::CreateVolumeDir(volumes_root_, *ns, row.name, row.options));
    absl::Status ins = md_->db->Update([&](Db& db) -> absl::Status {
      RETURN_IF_ERROR(md::EnsureNamespace(db, *ns, row.created_at));
      return md::InsertVolume(db, row);
    });
    if (!ins.ok()) {
      vol::RemoveVolumeDir(vol::VolumeDir(volumes_root_, *ns, row.name)).IgnoreError();
      return ins;
    }
    *resp->mutable_volume() = ToProto(row, 0);
    return absl::OkStatus();
  }();
  return ToGrpcStatus(Annotate(st, "volumes Create"));
}

grpc::Status VolumesService::Inspect(grpc::ServerContext* context,
                                     const pb::InspectVolumeRequest* req,
                                     pb::InspectVolumeResponse* resp) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = [&]() -> absl::Status {
    absl::optional<md::VolumeRow> row;
    RETURN_IF_ERROR(md_->db->View([&](Db& db) -> absl::Status {
      ASSIGN_OR_RETURN(row, md::GetVolume(db, *ns, req->name()));
      return absl::OkStatus();
    }));
    if (!row) return NoSuchVolume(req->name());
    absl::StatusOr<std::map<std::string, std::vector<std::string>>> users = Users(*ns);
    size_t n = 0;
    if (users.ok()) {
      if (auto it = users->find(row->name); it != users->end()) n = it->second.size();
    }
    *resp->mutable_volume() = ToProto(*row, n);
    return absl::OkStatus();
  }();
  // A missing volume is the caller's answer, not something to annotate.
  return ToGrpcStatus(absl::IsNotFound(st) ? st : Annotate(st, "volumes Inspect"));
}

grpc::Status VolumesService::List(grpc::ServerContext* context, const pb::ListVolumesRequest* req,
                                  pb::ListVolumesResponse* resp) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(Filter filter, Filter::Parse({req->filters().begin(), req->filters().end()}));
    std::vector<md::VolumeRow> rows;
    RETURN_IF_ERROR(md_->db->View([&](Db& db) {
      return md::ForEachVolume(db, *ns, [&](md::VolumeRow r) {
        rows.push_back(std::move(r));
        return absl::OkStatus();
      });
    }));
    if (rows.empty()) return absl::OkStatus();
    // Without the containers service, counts read 0 (and dangling "true").
    std::map<std::string, std::vector<std::string>> users =
        Users(*ns).value_or(std::map<std::string, std::vector<std::string>>());
    for (const md::VolumeRow& r : rows) {
      auto it = users.find(r.name);
      pb::Volume v = ToProto(r, it == users.end() ? 0 : it->second.size());
      if (!filter.Match([&](const std::vector<std::string>& f) { return Field(v, f, false); })) {
        continue;
      }
      *resp->add_volumes() = std::move(v);
    }
    return absl::OkStatus();
  }();
  return ToGrpcStatus(Annotate(st, "volumes List"));
}

absl::Status VolumesService::RemoveLocked(const std::string& ns, const std::string& name) {
  return md_->db->Update([&](Db& db) -> absl::Status {
    RETURN_IF_ERROR(md::DeleteVolume(db, ns, name).status());
    // Inside the transaction: a directory that cannot go (a mount that will not come off)
    // keeps its record.
    return vol::RemoveVolumeDir(vol::VolumeDir(volumes_root_, ns, name));
  });
}

grpc::Status VolumesService::Remove(grpc::ServerContext* context,
                                    const pb::RemoveVolumeRequest* req, google::protobuf::Empty*) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = [&]() -> absl::Status {
    absl::MutexLock l(&mu_);
    absl::optional<md::VolumeRow> row;
    RETURN_IF_ERROR(md_->db->View([&](Db& db) -> absl::Status {
      ASSIGN_OR_RETURN(row, md::GetVolume(db, *ns, req->name()));
      return absl::OkStatus();
    }));
    if (!row) return req->force() ? absl::OkStatus() : NoSuchVolume(req->name());
    if (!req->force()) {
      ASSIGN_OR_RETURN(auto users, Users(*ns));
      if (auto it = users.find(row->name); it != users.end() && !it->second.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "remove ", row->name, ": volume is in use - [", absl::StrJoin(it->second, ", "), "]"));
      }
    }
    return RemoveLocked(*ns, row->name);
  }();
  if (absl::IsNotFound(st) || absl::IsFailedPrecondition(st)) return ToGrpcStatus(st);
  return ToGrpcStatus(Annotate(st, "volumes Remove"));
}

grpc::Status VolumesService::Prune(grpc::ServerContext* context, const pb::PruneVolumesRequest* req,
                                   pb::PruneVolumesResponse* resp) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = [&]() -> absl::Status {
    std::vector<std::string> filters(req->filters().begin(), req->filters().end());
    // "all==true" widens the set to named volumes; it is a switch, not a property.
    bool all = false;
    for (const std::string& f : filters) {
      for (absl::string_view cond : absl::StrSplit(f, ',')) {
        if (cond == "all==true" || cond == "all==1") all = true;
      }
    }
    ASSIGN_OR_RETURN(Filter filter, Filter::Parse(filters));
    absl::MutexLock l(&mu_);
    std::vector<md::VolumeRow> rows;
    RETURN_IF_ERROR(md_->db->View([&](Db& db) {
      return md::ForEachVolume(db, *ns, [&](md::VolumeRow r) {
        rows.push_back(std::move(r));
        return absl::OkStatus();
      });
    }));
    if (rows.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(auto users, Users(*ns));
    for (const md::VolumeRow& r : rows) {
      if (users.count(r.name) > 0 || (!r.anonymous && !all)) continue;
      pb::Volume v = ToProto(r, 0);
      if (!filter.Match([&](const std::vector<std::string>& f) { return Field(v, f, all); })) {
        continue;
      }
      absl::StatusOr<snapshotter::Usage> usage = snapshotter::DiskUsage(v.mountpoint());
      RETURN_IF_ERROR(RemoveLocked(*ns, r.name));
      resp->add_removed(r.name);
      if (usage.ok()) resp->set_reclaimed_bytes(resp->reclaimed_bytes() + usage->size);
    }
    return absl::OkStatus();
  }();
  return ToGrpcStatus(Annotate(st, "volumes Prune"));
}

}  // namespace berth::services
