#include "services/leases/leases_service.h"

#include <grpcpp/grpcpp.h>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/digest.h"
#include "common/filter.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "services/common/proto_time.h"
#include "services/common/request_metadata.h"
#include "services/metadata/content_records.h"
#include "services/metadata/lease_records.h"
#include "spdlog/spdlog.h"

namespace berth::services {
namespace {

namespace pb = berth::services::leases::v1;
using metadata::Db;

std::string NewLeaseId() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  absl::MutexLock l(&mu);
  return absl::StrFormat("lease-%016x", absl::Uniform<uint64_t>(*gen));
}

void ToProto(const metadata::LeaseRecord& r, pb::Lease* out) {
  out->set_id(r.id);
  services::ToProto(r.created_at, out->mutable_created_at());
  out->mutable_labels()->insert(r.labels.begin(), r.labels.end());
  if (r.expires_at.has_value()) services::ToProto(*r.expires_at, out->mutable_expires_at());
}

absl::optional<std::string> LeaseField(const metadata::LeaseRecord& r,
                                       const std::vector<std::string>& f) {
  if (f.size() == 1 && f[0] == "id") return r.id;
  if (f.size() == 2 && f[0] == "labels") {
    auto it = r.labels.find(f[1]);
    if (it != r.labels.end()) return it->second;
  }
  return absl::nullopt;
}

}  // namespace

absl::Status ValidateLeaseId(const std::string& id) {
  if (id.empty() || id.size() > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid lease id \"", id, "\": it must have 1 to 256 characters"));
  }
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' &&
        c != ':' && c != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid lease id \"", id, "\": use letters, digits and . _ - : / only"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLeaseResource(const std::string& type, const std::string& id) {
  if (type == "content") {
    return Annotate(Digest::Parse(id).status(), "lease resource of type content");
  }
  if (type == "ingests" || (absl::StartsWith(type, "snapshots/") && type.size() > 10)) {
    if (id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("lease resource of type ", type, " needs an id"));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown lease resource type \"", type,
                   "\" (known: content, ingests, snapshots/<snapshotter>)"));
}

LeasesService::LeasesService(std::shared_ptr<metadata::MetadataStore> md) : md_(std::move(md)) {}

grpc::Status LeasesService::Create(grpc::ServerContext* context, const pb::CreateRequest* request,
                                   pb::CreateResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  metadata::LeaseRecord r{.ns = *ns,
                          .id = request->id().empty() ? NewLeaseId() : request->id(),
                          .labels = {request->labels().begin(), request->labels().end()},
                          .created_at = absl::Now()};
  if (request->has_expires_at()) r.expires_at = FromProto(request->expires_at());
  absl::Status st = ValidateLeaseId(r.id);
  if (st.ok()) st = metadata::ValidateLabels(r.labels);
  if (st.ok()) {
    st = md_->db->Update([&](Db& db) -> absl::Status {
      RETURN_IF_ERROR(metadata::EnsureNamespace(db, r.ns, r.created_at));
      return metadata::InsertLease(db, r);
    });
  }
  if (!st.ok()) return ToGrpcStatus(st);
  ToProto(r, response->mutable_lease());
  return grpc::Status::OK;
}

grpc::Status LeasesService::Delete(grpc::ServerContext* context, const pb::DeleteRequest* request,
                                   google::protobuf::Empty*) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st =
      md_->db->Update([&](Db& db) { return metadata::DeleteLease(db, *ns, request->id()); });
  if (!st.ok()) return ToGrpcStatus(st);
  // With sync the caller waits for the collection and hears if it failed; without, a failure
  // only shows in the log and the next collection retries.
  absl::StatusOr<metadata::GcStats> gc = md_->gc->Collect();
  if (!gc.ok()) {
    if (request->sync()) return ToGrpcStatus(gc.status());
    spdlog::warn("garbage collection after deleting lease {} in namespace {}: {}", request->id(),
                 *ns, gc.status().ToString());
  }
  return grpc::Status::OK;
}

grpc::Status LeasesService::List(grpc::ServerContext* context, const pb::ListRequest* request,
                                 pb::ListResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<Filter> filter =
      Filter::Parse({request->filters().begin(), request->filters().end()});
  if (!filter.ok()) return ToGrpcStatus(filter.status());
  std::vector<metadata::LeaseRecord> leases;
  absl::Status st = md_->db->View([&](Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(leases, metadata::ListLeases(db, *ns));
    return absl::OkStatus();
  });
  if (!st.ok()) return ToGrpcStatus(st);
  for (const metadata::LeaseRecord& r : leases) {
    if (filter->Match([&](const std::vector<std::string>& f) { return LeaseField(r, f); })) {
      ToProto(r, response->add_leases());
    }
  }
  return grpc::Status::OK;
}

grpc::Status LeasesService::AddResource(grpc::ServerContext* context,
                                        const pb::AddResourceRequest* request,
                                        google::protobuf::Empty*) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  const pb::Resource& res = request->resource();
  absl::Status st = ValidateLeaseResource(res.type(), res.id());
  if (st.ok()) {
    st = md_->db->Update([&](Db& db) {
      return metadata::AddLeaseResource(db, *ns, request->id(), {res.type(), res.id()});
    });
  }
  return ToGrpcStatus(st);
}

grpc::Status LeasesService::DeleteResource(grpc::ServerContext* context,
                                           const pb::DeleteResourceRequest* request,
                                           google::protobuf::Empty*) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  const pb::Resource& res = request->resource();
  return ToGrpcStatus(md_->db->Update([&](Db& db) {
    return metadata::DeleteLeaseResource(db, *ns, request->id(), {res.type(), res.id()});
  }));
}

grpc::Status LeasesService::ListResources(grpc::ServerContext* context,
                                          const pb::ListResourcesRequest* request,
                                          pb::ListResourcesResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  std::vector<metadata::LeaseResource> resources;
  absl::Status st = md_->db->View([&](Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(resources, metadata::ListLeaseResources(db, *ns, request->id()));
    return absl::OkStatus();
  });
  if (!st.ok()) return ToGrpcStatus(st);
  for (const metadata::LeaseResource& r : resources) {
    pb::Resource* out = response->add_resources();
    out->set_type(r.type);
    out->set_id(r.id);
  }
  return grpc::Status::OK;
}

}  // namespace berth::services
