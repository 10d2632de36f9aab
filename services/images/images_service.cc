// ImagesService: construction, Lookup, record RPCs Get, List, Create, Update, Delete, Tag.
#include "services/images/images_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "berth/events/v1/events.pb.h"
#include "common/digest.h"
#include "common/filter.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "services/common/request_metadata.h"
#include "services/images/images_service_internal.h"
#include "services/images/oci.h"
#include "services/images/reference.h"
#include "services/images/walk.h"
#include "services/metadata/content_records.h"
#include "services/metadata/image_records.h"
#include "spdlog/spdlog.h"

namespace berth::services {
namespace {

absl::StatusOr<md::ImageTarget> TargetFromProto(const ::berth::types::v1::Descriptor& d,
                                                absl::string_view what) {
  absl::StatusOr<Digest> digest = Digest::Parse(d.digest());
  if (!digest.ok()) return Annotate(digest.status(), absl::StrCat(what, ": target"));
  const img::Kind kind = img::KindOf(d.media_type());
  if (kind != img::Kind::kIndex && kind != img::Kind::kManifest) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": target media type \"", d.media_type(),
                     "\" is neither an OCI/Docker manifest nor an index"));
  }
  if (d.size() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": target size must be positive"));
  }
  return md::ImageTarget{.media_type = d.media_type(),
                         .digest = digest->ToString(),
                         .size = d.size(),
                         .annotations = {d.annotations().begin(), d.annotations().end()}};
}

absl::optional<std::string> ImageField(const md::ImageRecord& r,
                                       const std::vector<std::string>& f) {
  if (f.size() == 1 && f[0] == "name") return r.name;
  if (f.size() == 2 && f[0] == "target" && f[1] == "digest") return r.target.digest;
  if (f.size() == 2 && f[0] == "target" && (f[1] == "mediatype" || f[1] == "media_type")) {
    return r.target.media_type;
  }
  if (f.size() == 2 && f[0] == "labels") {
    auto it = r.labels.find(f[1]);
    if (it != r.labels.end()) return it->second;
  }
  return absl::nullopt;
}

absl::Status NotFound(const std::string& ns, const std::string& name) {
  return absl::NotFoundError(
      absl::StrCat("image \"", name, "\" not found in namespace \"", ns, "\""));
}

bool LooksLikeDigestPrefix(const std::string& s) {
  absl::string_view hex = s;
  absl::ConsumePrefix(&hex, "sha256:");
  if (hex.size() < 4 || hex.size() > 64) return false;
  return std::all_of(hex.begin(), hex.end(),
                     [](char c) { return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f'); });
}

// The image `source` names: by name, or else by a unique prefix of its target digest.
absl::StatusOr<md::ImageRecord> FindImage(md::Db& db, const std::string& ns,
                                          const std::string& source) {
  absl::StatusOr<std::string> name = img::Normalize(source);
  if (name.ok()) {
    ASSIGN_OR_RETURN(absl::optional<md::ImageRecord> r, md::GetImage(db, ns, *name));
    if (r.has_value()) return *std::move(r);
  }
  if (!LooksLikeDigestPrefix(source)) {
    if (!name.ok()) return name.status();
    return NotFound(ns, *name);
  }
  const std::string prefix =
      absl::StartsWith(source, "sha256:") ? source : absl::StrCat("sha256:", source);
  std::vector<md::ImageRecord> found;
  std::set<std::string> targets;
  RETURN_IF_ERROR(md::ForEachImage(db, ns, [&](md::ImageRecord r) {
    if (absl::StartsWith(r.target.digest, prefix)) {
      targets.insert(r.target.digest);
      found.push_back(std::move(r));
    }
    return absl::OkStatus();
  }));
  if (targets.empty()) return NotFound(ns, source);
  if (targets.size() > 1) {
    return absl::FailedPreconditionError(absl::StrCat("digest prefix \"", source, "\" matches ",
                                                      targets.size(), " images; give more digits"));
  }
  return found.front();
}

}  // namespace

ImagesService::ImagesService(std::shared_ptr<::berth::content::ContentStore> store,
                             std::shared_ptr<::berth::metadata::MetadataStore> md,
                             ChannelFn channels, RegistryConfig registry)
    : channels_(std::move(channels)),
      registry_(std::move(registry)),
      publisher_([this]() -> std::shared_ptr<grpc::Channel> {
        return channels_ ? channels_("events") : nullptr;
      }),
      store_(std::move(store)),
      md_(std::move(md)) {}

absl::StatusOr<md::ImageRecord> ImagesService::Lookup(const std::string& ns,
                                                      const std::string& source) {
  absl::StatusOr<md::ImageRecord> found = absl::UnknownError("");
  std::vector<md::ImageRecord> all;
  RETURN_IF_ERROR(md_->db->View([&](md::Db& db) -> absl::Status {
    found = FindImage(db, ns, source);
    if (found.ok() || !absl::IsNotFound(found.status()) || !LooksLikeDigestPrefix(source)) {
      return absl::OkStatus();
    }
    return md::ForEachImage(db, ns, [&](md::ImageRecord r) {
      all.push_back(std::move(r));
      return absl::OkStatus();
    });
  }));
  if (all.empty()) return found;
  // By image ID. The configs are read outside the transaction: the store has its own.
  const std::string prefix =
      absl::StartsWith(source, "sha256:") ? source : absl::StrCat("sha256:", source);
  std::set<std::string> configs;
  std::vector<md::ImageRecord> matched;
  for (md::ImageRecord& r : all) {
    const img::Descriptor target{
        .media_type = r.target.media_type, .digest = r.target.digest, .size = r.target.size};
    absl::StatusOr<img::Descriptor> m =
        img::ResolveManifest(*store_, ns, target, img::HostPlatform());
    if (!m.ok()) continue;
    absl::StatusOr<std::string> text = img::ReadDocument(*store_, ns, *m);
    if (!text.ok()) continue;
    absl::StatusOr<img::Manifest> manifest = img::ParseManifest(*text, m->digest);
    if (!manifest.ok() || !absl::StartsWith(manifest->config.digest, prefix)) continue;
    configs.insert(manifest->config.digest);
    matched.push_back(std::move(r));
  }
  if (configs.size() > 1) {
    return absl::FailedPreconditionError(absl::StrCat("image ID prefix \"", source, "\" matches ",
                                                      configs.size(), " images; give more digits"));
  }
  if (matched.empty()) return found;
  // Several names of one image: the dangling record, if any, else the first name.
  for (md::ImageRecord& r : matched) {
    if (img::IsDanglingName(r.name)) return std::move(r);
  }
  return std::move(matched.front());
}

grpc::Status ImagesService::Get(grpc::ServerContext* context, const pb::GetImageRequest* request,
                                pb::GetImageResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  // By name, as given; or by target digest or image ID prefix, as Docker's lookups go.
  absl::StatusOr<md::ImageRecord> r = Lookup(*ns, request->name());
  if (!r.ok()) return ToGrpcStatus(Annotate(r.status(), "images Get"));
  ToProto(*r, response->mutable_image());
  return grpc::Status::OK;
}

grpc::Status ImagesService::List(grpc::ServerContext* context, const pb::ListImagesRequest* request,
                                 pb::ListImagesResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<Filter> filter =
      Filter::Parse({request->filters().begin(), request->filters().end()});
  if (!filter.ok()) return ToGrpcStatus(Annotate(filter.status(), "images List"));
  return ToGrpcStatus(md_->db->View([&](md::Db& db) {
    return md::ForEachImage(db, *ns, [&](md::ImageRecord r) {
      if (filter->Match([&](const std::vector<std::string>& f) { return ImageField(r, f); })) {
        ToProto(r, response->add_images());
      }
      return absl::OkStatus();
    });
  }));
}

grpc::Status ImagesService::Create(grpc::ServerContext* context,
                                   const pb::CreateImageRequest* request,
                                   pb::CreateImageResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string name, NormalizeName(request->image().name(), "images Create"));
    const std::string what = absl::StrCat("images Create of \"", name, "\"");
    ASSIGN_OR_RETURN(md::ImageTarget target, TargetFromProto(request->image().target(), what));
    md::Labels labels(request->image().labels().begin(), request->image().labels().end());
    RETURN_IF_ERROR(Annotate(md::ValidateLabels(labels), what));
    const absl::Time now = absl::Now();
    md::ImageRecord r{.ns = *ns,
                      .name = name,
                      .target = std::move(target),
                      .labels = std::move(labels),
                      .created_at = now,
                      .updated_at = now};
    RETURN_IF_ERROR(md_->db->Update([&](md::Db& db) -> absl::Status {
      RETURN_IF_ERROR(md::EnsureNamespace(db, *ns, now));
      return md::InsertImage(db, r);
    }));
    ToProto(r, response->mutable_image());
    publisher_.Publish(*ns, "/images/create", ImageEvent<ev::ImageCreate>(r));
    return absl::OkStatus();
  }();
  return ToGrpcStatus(st);
}

grpc::Status ImagesService::Update(grpc::ServerContext* context,
                                   const pb::UpdateImageRequest* request,
                                   pb::UpdateImageResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string name, NormalizeName(request->image().name(), "images Update"));
    const std::string what = absl::StrCat("images Update of \"", name, "\"");
    std::vector<std::string> paths(request->update_mask().paths().begin(),
                                   request->update_mask().paths().end());
    if (paths.empty()) paths = {"target", "labels"};
    const md::Labels given(request->image().labels().begin(), request->image().labels().end());
    md::ImageRecord r;
    RETURN_IF_ERROR(md_->db->Update([&](md::Db& db) -> absl::Status {
      ASSIGN_OR_RETURN(absl::optional<md::ImageRecord> cur, md::GetImage(db, *ns, name));
      if (!cur.has_value()) return NotFound(*ns, name);
      r = *std::move(cur);
      for (const std::string& p : paths) {
        if (p == "target") {
          ASSIGN_OR_RETURN(r.target, TargetFromProto(request->image().target(), what));
        } else if (p == "labels") {
          r.labels = given;
        } else if (absl::StartsWith(p, "labels.") && p.size() > 7) {
          const std::string key = p.substr(7);
          auto it = given.find(key);
          if (it == given.end()) {
            r.labels.erase(key);
          } else {
            r.labels[key] = it->second;
          }
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat(what, ": cannot update field \"", p,
                           "\"; only \"target\", \"labels\" and \"labels.<key>\" can change"));
        }
      }
      RETURN_IF_ERROR(Annotate(md::ValidateLabels(r.labels), what));
      r.updated_at = absl::Now();
      return md::UpdateImage(db, r);
    }));
    ToProto(r, response->mutable_image());
    publisher_.Publish(*ns, "/images/update", ImageEvent<ev::ImageUpdate>(r));
    return absl::OkStatus();
  }();
  return ToGrpcStatus(st);
}

grpc::Status ImagesService::Delete(grpc::ServerContext* context,
                                   const pb::DeleteImageRequest* request,
                                   google::protobuf::Empty*) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<std::string> name = NormalizeName(request->name(), "images Delete");
  if (!name.ok()) return ToGrpcStatus(name.status());
  absl::Status st = md_->db->Update([&](md::Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(bool removed, md::DeleteImage(db, *ns, *name));
    return removed ? absl::OkStatus() : NotFound(*ns, *name);
  });
  if (!st.ok()) return ToGrpcStatus(st);
  ev::ImageDelete deleted;
  deleted.set_name(*name);
  publisher_.Publish(*ns, "/images/delete", deleted);
  absl::Status gc = md_->gc->Collect().status();
  if (!gc.ok()) {
    if (request->sync()) {
      return ToGrpcStatus(
          Annotate(gc, absl::StrCat("image \"", *name, "\" was deleted, but garbage collection")));
    }
    spdlog::warn("garbage collection after deleting image {}: {}", *name, gc.ToString());
  }
  return grpc::Status::OK;
}

grpc::Status ImagesService::Tag(grpc::ServerContext* context, const pb::TagImageRequest* request,
                                pb::TagImageResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string target, NormalizeName(request->target(), "images Tag"));
    md::ImageRecord r;
    const absl::Time now = absl::Now();
    ASSIGN_OR_RETURN(md::ImageRecord src, Lookup(*ns, request->source()));
    RETURN_IF_ERROR(md_->db->Update([&](md::Db& db) -> absl::Status {
      r = src;
      r.name = target;
      r.created_at = r.updated_at = now;
      RETURN_IF_ERROR(md::PutImage(db, r));
      // A dangling image that gets a name is dangling no more.
      if (img::IsDanglingName(target)) return absl::OkStatus();
      return md::DeleteImage(db, *ns, img::DanglingName(r.target.digest)).status();
    }));
    ToProto(r, response->mutable_image());
    publisher_.Publish(*ns, "/images/create", ImageEvent<ev::ImageCreate>(r));
    return absl::OkStatus();
  }();
  return ToGrpcStatus(Annotate(st, "images Tag"));
}

}  // namespace berth::services
