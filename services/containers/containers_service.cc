#include "services/containers/containers_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "berth/events/v1/events.pb.h"
#include "common/filter.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "services/common/proto_time.h"
#include "services/common/request_metadata.h"
#include "services/metadata/container_records.h"
#include "services/metadata/content_records.h"

namespace berth::services {
namespace {

namespace ev = ::berth::events::v1;

namespace pb = ::berth::services::containers::v1;
namespace md = ::berth::metadata;
using ::berth::sqlite::Db;

absl::Status CheckChars(const std::string& what, const std::string& value, size_t max,
                        bool first_alnum) {
  bool ok = !value.empty() && value.size() <= max;
  for (size_t i = 0; ok && i < value.size(); ++i) {
    const char c = value[i];
    const bool alnum = absl::ascii_isalnum(static_cast<unsigned char>(c));
    ok = alnum || (!(first_alnum && i == 0) && (c == '_' || c == '-' || c == '.'));
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid container ", what, " \"", value, "\": use 1 to ", max,
                     " letters, digits, '_', '-' and '.', starting with a letter or digit"));
  }
  return absl::OkStatus();
}

absl::optional<std::string> Field(const pb::Container& c, const std::vector<std::string>& f) {
  if (f.size() == 1) {
    if (f[0] == "id") return c.id();
    if (f[0] == "name") return c.name();
    if (f[0] == "image") return c.image();
    if (f[0] == "snapshotter") return c.snapshotter();
    if (f[0] == "snapshot_key") return c.snapshot_key();
  }
  if (f.size() == 2 && f[0] == "runtime" && f[1] == "name") return c.runtime().name();
  if (f.size() == 2 && f[0] == "labels") {
    auto it = c.labels().find(f[1]);
    if (it != c.labels().end()) return it->second;
  }
  return absl::nullopt;
}

absl::StatusOr<pb::Container> Decode(const md::ContainerRow& row) {
  pb::Container c;
  if (!c.ParseFromString(row.record)) {
    return absl::DataLossError(absl::StrCat("container ", row.id, ": unreadable record"));
  }
  ToProto(row.created_at, c.mutable_created_at());
  ToProto(row.updated_at, c.mutable_updated_at());
  return c;
}

md::ContainerRow Encode(const std::string& ns, pb::Container c) {
  md::ContainerRow row{.ns = ns, .id = c.id(), .name = c.name()};
  row.created_at = FromProto(c.created_at());
  row.updated_at = FromProto(c.updated_at());
  c.clear_created_at();
  c.clear_updated_at();
  row.record = c.SerializeAsString();
  return row;
}

// An id, a name, or a unique id prefix (as Docker accepts), within one namespace.
absl::StatusOr<md::ContainerRow> Resolve(Db& db, const std::string& ns, const std::string& ref) {
  if (ref.empty()) return absl::InvalidArgumentError("a container id or name is required");
  ASSIGN_OR_RETURN(absl::optional<md::ContainerRow> row, md::GetContainer(db, ns, ref));
  if (row) return *std::move(row);
  ASSIGN_OR_RETURN(row, md::GetContainerByName(db, ns, ref));
  if (row) return *std::move(row);
  std::vector<md::ContainerRow> matches;
  RETURN_IF_ERROR(md::ForEachContainer(db, ns, [&](md::ContainerRow r) {
    if (absl::StartsWith(r.id, ref)) matches.push_back(std::move(r));
    return absl::OkStatus();
  }));
  if (matches.size() == 1) return std::move(matches[0]);
  if (matches.size() > 1) {
    return absl::FailedPreconditionError(absl::StrCat("\"", ref, "\" matches ", matches.size(),
                                                      " containers in namespace \"", ns,
                                                      "\"; give more of the id"));
  }
  return absl::NotFoundError(
      absl::StrCat("no such container: \"", ref, "\" in namespace \"", ns, "\""));
}

// Applies `from` onto `to` along the update mask (empty: every mutable field).
absl::Status ApplyMask(const pb::Container& from, const google::protobuf::FieldMask& mask,
                       pb::Container* to) {
  std::vector<std::string> paths(mask.paths().begin(), mask.paths().end());
  if (paths.empty()) {
    paths = {"name",    "labels",       "image",      "spec",
             "runtime", "snapshot_key", "extensions", "auto_remove"};
  }
  for (const std::string& p : paths) {
    if (p == "name") {
      to->set_name(from.name());
    } else if (p == "labels") {
      *to->mutable_labels() = from.labels();
    } else if (absl::StartsWith(p, "labels.")) {
      const std::string key = p.substr(7);
      auto it = from.labels().find(key);
      if (it == from.labels().end()) {
        to->mutable_labels()->erase(key);
      } else {
        (*to->mutable_labels())[key] = it->second;
      }
    } else if (p == "image") {
      to->set_image(from.image());
    } else if (p == "spec") {
      to->set_spec(from.spec());
    } else if (p == "runtime") {
      *to->mutable_runtime() = from.runtime();
    } else if (p == "snapshot_key") {
      to->set_snapshot_key(from.snapshot_key());
    } else if (p == "extensions") {
      *to->mutable_extensions() = from.extensions();
    } else if (absl::StartsWith(p, "extensions.")) {
      const std::string key = p.substr(11);
      auto it = from.extensions().find(key);
      if (it == from.extensions().end()) {
        to->mutable_extensions()->erase(key);
      } else {
        (*to->mutable_extensions())[key] = it->second;
      }
    } else if (p == "auto_remove") {
      to->set_auto_remove(from.auto_remove());
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_mask: \"", p, "\" cannot be updated (id, snapshotter and times are fixed)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateContainerId(const std::string& id) { return CheckChars("id", id, 76, true); }

absl::Status ValidateContainerName(const std::string& name) {
  return CheckChars("name", name, 128, true);
}

ContainersService::ContainersService(std::shared_ptr<md::MetadataStore> md,
                                     ::berth::events::Publisher publisher)
    : md_(std::move(md)), publisher_(std::move(publisher)) {}

grpc::Status ContainersService::Get(grpc::ServerContext* context,
                                    const pb::GetContainerRequest* req,
                                    pb::GetContainerResponse* resp) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = md_->db->View([&](Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(md::ContainerRow row, Resolve(db, *ns, req->id()));
    ASSIGN_OR_RETURN(*resp->mutable_container(), Decode(row));
    return absl::OkStatus();
  });
  return ToGrpcStatus(Annotate(st, "containers Get"));
}

absl::Status ContainersService::ForEach(
    const std::string& ns, const google::protobuf::RepeatedPtrField<std::string>& filters,
    const std::function<absl::Status(pb::Container)>& fn) {
  ASSIGN_OR_RETURN(Filter filter, Filter::Parse({filters.begin(), filters.end()}));
  return md_->db->View([&](Db& db) {
    return md::ForEachContainer(db, ns, [&](md::ContainerRow row) -> absl::Status {
      ASSIGN_OR_RETURN(pb::Container c, Decode(row));
      if (!filter.Match([&c](const std::vector<std::string>& f) { return Field(c, f); })) {
        return absl::OkStatus();
      }
      return fn(std::move(c));
    });
  });
}

grpc::Status ContainersService::List(grpc::ServerContext* context,
                                     const pb::ListContainersRequest* req,
                                     pb::ListContainersResponse* resp) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = ForEach(*ns, req->filters(), [&](pb::Container c) {
    *resp->add_containers() = std::move(c);
    return absl::OkStatus();
  });
  return ToGrpcStatus(Annotate(st, "containers List"));
}

grpc::Status ContainersService::ListStream(grpc::ServerContext* context,
                                           const pb::ListContainersRequest* req,
                                           grpc::ServerWriter<pb::ListContainerMessage>* writer) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = ForEach(*ns, req->filters(), [&](pb::Container c) -> absl::Status {
    pb::ListContainerMessage m;
    *m.mutable_container() = std::move(c);
    if (!writer->Write(m)) return absl::CancelledError("the client went away");
    return absl::OkStatus();
  });
  return ToGrpcStatus(Annotate(st, "containers ListStream"));
}

grpc::Status ContainersService::Create(grpc::ServerContext* context,
                                       const pb::CreateContainerRequest* req,
                                       pb::CreateContainerResponse* resp) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = [&]() -> absl::Status {
    pb::Container c = req->container();
    RETURN_IF_ERROR(ValidateContainerId(c.id()));
    if (c.name().empty()) c.set_name(c.id());
    RETURN_IF_ERROR(ValidateContainerName(c.name()));
    if (c.runtime().name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("container ", c.id(), ": runtime.name is required"));
    }
    const absl::Time now = absl::Now();
    ToProto(now, c.mutable_created_at());
    ToProto(now, c.mutable_updated_at());
    RETURN_IF_ERROR(md_->db->Update([&](Db& db) -> absl::Status {
      RETURN_IF_ERROR(md::EnsureNamespace(db, *ns, now));
      return md::InsertContainer(db, Encode(*ns, c));
    }));
    ev::ContainerCreate e;
    e.set_id(c.id());
    e.set_name(c.name());
    e.set_image(c.image());
    e.mutable_runtime()->set_name(c.runtime().name());
    publisher_.Publish(*ns, "/containers/create", e);
    *resp->mutable_container() = std::move(c);
    return absl::OkStatus();
  }();
  return ToGrpcStatus(Annotate(st, "containers Create"));
}

grpc::Status ContainersService::Update(grpc::ServerContext* context,
                                       const pb::UpdateContainerRequest* req,
                                       pb::UpdateContainerResponse* resp) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = md_->db->Update([&](Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(md::ContainerRow row, Resolve(db, *ns, req->container().id()));
    ASSIGN_OR_RETURN(pb::Container c, Decode(row));
    RETURN_IF_ERROR(ApplyMask(req->container(), req->update_mask(), &c));
    RETURN_IF_ERROR(ValidateContainerName(c.name()));
    ToProto(absl::Now(), c.mutable_updated_at());
    RETURN_IF_ERROR(md::UpdateContainer(db, Encode(*ns, c)));
    *resp->mutable_container() = std::move(c);
    return absl::OkStatus();
  });
  if (st.ok()) {
    const pb::Container& c = resp->container();
    ev::ContainerUpdate e;
    e.set_id(c.id());
    e.set_name(c.name());
    e.set_image(c.image());
    e.mutable_labels()->insert(c.labels().begin(), c.labels().end());
    e.set_snapshot_key(c.snapshot_key());
    publisher_.Publish(*ns, "/containers/update", e);
  }
  return ToGrpcStatus(Annotate(st, "containers Update"));
}

grpc::Status ContainersService::Delete(grpc::ServerContext* context,
                                       const pb::DeleteContainerRequest* req,
                                       google::protobuf::Empty*) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  ev::ContainerDelete e;
  absl::Status st = md_->db->Update([&](Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(md::ContainerRow row, Resolve(db, *ns, req->id()));
    e.set_id(row.id);
    e.set_name(row.name);
    return md::DeleteContainer(db, *ns, row.id).status();
  });
  if (st.ok()) publisher_.Publish(*ns, "/containers/delete", e);
  return ToGrpcStatus(Annotate(st, "containers Delete"));
}

}  // namespace berth::services
