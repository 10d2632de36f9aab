#include "services/images/images_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "berth/events/v1/events.pb.h"
#include "common/digest.h"
#include "common/filter.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "services/common/proto_time.h"
#include "services/common/request_metadata.h"
#include "services/images/exporter.h"
#include "services/images/importer.h"
#include "services/images/oci.h"
#include "services/images/pull.h"
#include "services/images/push.h"
#include "services/images/reference.h"
#include "services/images/registry/client.h"
#include "services/images/unpack.h"
#include "services/images/walk.h"
#include "services/metadata/content_records.h"
#include "services/metadata/image_records.h"
#include "spdlog/spdlog.h"

namespace berth::services {
namespace {

namespace pb = ::berth::services::images::v1;
namespace md = ::berth::metadata;
namespace img = ::berth::images;

constexpr int kDefaultExportChunk = 1 << 20;
constexpr int kMaxExportChunk = 3 << 20;  // under gRPC's 4 MiB message limit
constexpr int kMinExportChunk = 4 << 10;

void ToProto(const md::ImageRecord& r, pb::Image* out) {
  out->set_name(r.name);
  out->mutable_labels()->insert(r.labels.begin(), r.labels.end());
  auto* t = out->mutable_target();
  t->set_media_type(r.target.media_type);
  t->set_digest(r.target.digest);
  t->set_size(r.target.size);
  t->mutable_annotations()->insert(r.target.annotations.begin(), r.target.annotations.end());
  services::ToProto(r.created_at, out->mutable_created_at());
  services::ToProto(r.updated_at, out->mutable_updated_at());
}

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

absl::StatusOr<std::string> NormalizeName(const std::string& name, absl::string_view call) {
  absl::StatusOr<std::string> n = img::Normalize(name);
  if (!n.ok()) return Annotate(n.status(), call);
  return n;
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

absl::optional<img::Platform> PlatformFromProto(const ::berth::types::v1::Platform& p) {
  if (p.os().empty() && p.architecture().empty()) return absl::nullopt;
  return img::Platform{.os = p.os().empty() ? "linux" : p.os(),
                       .architecture = p.architecture().empty() ? img::HostPlatform().architecture
                                                                : p.architecture(),
                       .variant = p.variant()};
}

namespace ev = ::berth::events::v1;

// ImageCreate and ImageUpdate carry the same fields.
template <typename Event>
Event ImageEvent(const md::ImageRecord& r) {
  Event e;
  e.set_name(r.name);
  e.mutable_labels()->insert(r.labels.begin(), r.labels.end());
  return e;
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

grpc::Status ImagesService::Import(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<pb::ImportImageResponse, pb::ImportImageRequest>* stream) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  pb::ImportImageRequest req;
  if (!stream->Read(&req)) {
    return ToGrpcStatus(absl::InvalidArgumentError("images Import: the stream carried no archive"));
  }
  // The options ride on the first message; `req` is reused for the data that follows.
  const bool unpack = req.unpack();
  const std::string snapshotter = req.snapshotter();
  const ::berth::types::v1::Platform platform = req.platform();
  img::ImportOptions opts{
      .ns = *ns, .base_name = req.base_name(), .platform = PlatformFromProto(req.platform())};
  if (!opts.base_name.empty()) {
    absl::StatusOr<std::string> base = NormalizeName(opts.base_name, "images Import: base name");
    if (!base.ok()) return ToGrpcStatus(base.status());
  }
  bool first = true;
  auto source = [&]() -> absl::StatusOr<absl::string_view> {
    if (context->IsCancelled()) return absl::CancelledError("images Import: the client went away");
    if (first) {
      first = false;
      if (!req.data().empty()) return absl::string_view(req.data());
    }
    do {
      if (!stream->Read(&req)) return absl::string_view();
    } while (req.data().empty());
    return absl::string_view(req.data());
  };
  auto progress = [&](const img::ImportProgress& p) {
    pb::ImportImageResponse resp;
    auto* pp = resp.add_progress();
    pp->set_ref(p.ref);
    pp->set_status(p.status);
    pp->set_offset(p.offset);
    pp->set_total(p.total);
    stream->Write(resp);
  };
  absl::StatusOr<std::vector<md::ImageRecord>> images =
      img::ImportArchive(*store_, *md_, opts, source, progress);
  if (!images.ok()) return ToGrpcStatus(Annotate(images.status(), "load"));
  for (const md::ImageRecord& r : *images)
    publisher_.Publish(*ns, "/images/create", ImageEvent<ev::ImageCreate>(r));
  if (unpack) {
    for (const md::ImageRecord& r : *images) {
      absl::StatusOr<pb::UnpackImageResponse> u = UnpackImage(*ns, r.name, snapshotter, platform);
      if (!u.ok()) return ToGrpcStatus(Annotate(u.status(), absl::StrCat("load: unpack ", r.name)));
      pb::ImportImageResponse resp;
      auto* pp = resp.add_progress();
      pp->set_ref(r.name);
      pp->set_status("unpacked");
      pp->set_offset(u->unpacked());
      pp->set_total(u->layers());
      stream->Write(resp);
    }
  }
  pb::ImportImageResponse done;
  for (const md::ImageRecord& r : *images) ToProto(r, done.add_images());
  stream->Write(done);
  return grpc::Status::OK;
}

absl::StatusOr<pb::UnpackImageResponse> ImagesService::UnpackImage(
    const std::string& ns, const std::string& name, const std::string& snapshotter,
    const ::berth::types::v1::Platform& platform) {
  std::shared_ptr<grpc::Channel> snaps_ch = channels_ ? channels_("snapshots") : nullptr;
  std::shared_ptr<grpc::Channel> diff_ch = channels_ ? channels_("diff") : nullptr;
  if (snaps_ch == nullptr || diff_ch == nullptr) {
    return absl::FailedPreconditionError(
        "unpack needs the snapshots and diff services, hosted here or listed under remote:");
  }
  ASSIGN_OR_RETURN(md::ImageRecord record, Lookup(ns, name));
  img::Descriptor target{.media_type = record.target.media_type,
                         .digest = record.target.digest,
                         .size = record.target.size};
  img::UnpackOptions opts;
  opts.ns = ns;
  opts.snapshotter = snapshotter;
  return UnpackTarget(target, std::move(opts), platform);
}

absl::StatusOr<pb::UnpackImageResponse> ImagesService::UnpackTarget(
    const img::Descriptor& target, img::UnpackOptions opts,
    const ::berth::types::v1::Platform& platform) {
  std::shared_ptr<grpc::Channel> snaps_ch = channels_ ? channels_("snapshots") : nullptr;
  std::shared_ptr<grpc::Channel> diff_ch = channels_ ? channels_("diff") : nullptr;
  if (snaps_ch == nullptr || diff_ch == nullptr) {
    return absl::FailedPreconditionError(
        "unpack needs the snapshots and diff services, hosted here or listed under remote:");
  }
  absl::optional<img::Platform> p = PlatformFromProto(platform);
  opts.platform = p ? *p : img::HostPlatform();
  auto snaps = ::berth::services::snapshots::v1::Snapshots::NewStub(snaps_ch);
  auto diff = ::berth::services::diff::v1::Diff::NewStub(diff_ch);
  ASSIGN_OR_RETURN(img::UnpackResult r, img::Unpack(*store_, target, opts, *snaps, *diff));
  pb::UnpackImageResponse resp;
  resp.set_chain_id(r.chain_id);
  resp.set_layers(r.layers);
  resp.set_unpacked(r.unpacked);
  return resp;
}

grpc::Status ImagesService::Unpack(grpc::ServerContext* context,
                                   const pb::UnpackImageRequest* request,
                                   pb::UnpackImageResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<pb::UnpackImageResponse> r =
      UnpackImage(*ns, request->name(), request->snapshotter(), request->platform());
  if (!r.ok()) return ToGrpcStatus(Annotate(r.status(), "unpack"));
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status ImagesService::Export(grpc::ServerContext* context,
                                   const pb::ExportImageRequest* request,
                                   grpc::ServerWriter<pb::ExportImageResponse>* writer) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  if (request->names().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError("save: name at least one image"));
  }
  std::vector<md::ImageRecord> images;
  absl::Status st = [&]() -> absl::Status {
    for (const std::string& n : request->names()) {
      ASSIGN_OR_RETURN(md::ImageRecord r, Lookup(*ns, n));
      images.push_back(std::move(r));
    }
    return absl::OkStatus();
  }();
  if (!st.ok()) return ToGrpcStatus(Annotate(st, "save"));
  int chunk = request->chunk_size() <= 0 ? kDefaultExportChunk : request->chunk_size();
  chunk = std::clamp(chunk, kMinExportChunk, kMaxExportChunk);

  pb::ExportImageResponse resp;
  std::string* buf = resp.mutable_data();
  auto flush = [&]() -> absl::Status {
    if (buf->empty()) return absl::OkStatus();
    if (!writer->Write(resp)) return absl::CancelledError("save: the client went away");
    buf->clear();
    return absl::OkStatus();
  };
  auto sink = [&](absl::string_view data) -> absl::Status {
    while (!data.empty()) {
      const size_t n = std::min(data.size(), static_cast<size_t>(chunk) - buf->size());
      buf->append(data.data(), n);
      data.remove_prefix(n);
      if (buf->size() >= static_cast<size_t>(chunk)) RETURN_IF_ERROR(flush());
    }
    return absl::OkStatus();
  };
  img::ExportOptions opts{.ns = *ns,
                          .format = request->format() == pb::EXPORT_FORMAT_OCI
                                        ? img::ArchiveFormat::kOci
                                        : img::ArchiveFormat::kDocker,
                          .platform = PlatformFromProto(request->platform())};
  st = img::ExportArchive(*store_, opts, images, sink);
  if (st.ok()) st = flush();
  return ToGrpcStatus(Annotate(st, "save"));
}

namespace {

::berth::registry::ClientOptions ClientOptionsFor(const RegistryConfig& config,
                                                  const pb::RegistryOptions& r,
                                                  grpc::ServerContext* context, bool push) {
  ::berth::registry::ClientOptions o;
  o.hosts = config.hosts;
  o.credentials = {.username = r.username(), .password = r.password()};
  o.plain_http = r.plain_http();
  o.skip_verify = r.insecure_skip_verify();
  o.push = push;
  o.cancelled = [context] { return context->IsCancelled(); };
  return o;
}

void ToProto(const img::TransferProgress& p, ::berth::types::v1::Progress* out) {
  out->set_ref(p.ref);
  out->set_status(p.status);
  out->set_offset(p.offset);
  out->set_total(p.total);
  out->set_message(p.message);
}

}  // namespace

namespace {

// Blobs a pull has stored so far, for an unpack that runs beside the downloads.
class ArrivedBlobs {
 public:
  void Add(const std::string& digest) {
    absl::MutexLock l(&mu_);
    have_.insert(digest);
    cv_.SignalAll();
  }
  // The pull ended (ok or not): waits stop, and blobs not here by now will not come.
  void Finish(bool ok) {
    absl::MutexLock l(&mu_);
    finished_ = true;
    ok_ = ok;
    cv_.SignalAll();
  }
  absl::Status WaitFor(const std::string& digest) {
    absl::MutexLock l(&mu_);
    while (!finished_ && have_.count(digest) == 0) cv_.Wait(&mu_);
    if (have_.count(digest) > 0) return absl::OkStatus();
    return absl::CancelledError(ok_ ? absl::StrCat("blob ", digest, " never arrived")
                                    : "the pull failed");
  }

 private:
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::set<std::string> have_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool ok_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

grpc::Status ImagesService::Pull(grpc::ServerContext* context, const pb::PullImageRequest* request,
                                 grpc::ServerWriter<pb::PullImageResponse>* writer) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<img::Reference> ref = img::ParseNormalized(request->ref());
  if (!ref.ok()) return ToGrpcStatus(Annotate(ref.status(), "pull"));
  const std::string what = absl::StrCat("pull ", ref->FamiliarString());
  std::mutex write_mu;  // progress comes from several download threads
  auto send = [&](const img::TransferProgress& p) {
    pb::PullImageResponse resp;
    ToProto(p, resp.add_progress());
    std::lock_guard<std::mutex> l(write_mu);
    writer->Write(resp);
  };
  ArrivedBlobs arrived;
  auto progress = [&](const img::TransferProgress& p) {
    send(p);
    if (p.status == "done" || p.status == "exists") arrived.Add(p.ref);
  };
  absl::StatusOr<std::unique_ptr<::berth::registry::RegistryClient>> client =
      ::berth::registry::RegistryClient::Connect(
          ref->domain, ref->path,
          ClientOptionsFor(registry_, request->registry(), context, /*push=*/false));
  if (!client.ok()) return ToGrpcStatus(Annotate(client.status(), what));
  img::PullOptions opts{.ns = *ns,
                        .platform = PlatformFromProto(request->platform()),
                        .all_platforms = request->all_platforms(),
                        .labels = {request->labels().begin(), request->labels().end()},
                        .max_concurrent_downloads = registry_.max_concurrent_downloads};
  opts.cancelled = [context] { return context->IsCancelled(); };
  // Layers are unpacked as they arrive, in order, beside the downloads.
  const bool unpack = request->unpack() && !request->all_platforms();
  std::thread unpacker;
  absl::StatusOr<pb::UnpackImageResponse> unpacked =
      absl::FailedPreconditionError("the unpack did not start");
  if (unpack) {
    opts.on_documents = [&](const img::Descriptor& target) {
      unpacker = std::thread([&, target] {
        img::UnpackOptions uo;
        uo.ns = *ns;
        uo.snapshotter = request->snapshotter();
        uo.wait_for_blob = [&](const img::Descriptor& blob) {
          return arrived.WaitFor(blob.digest);
        };
        uo.on_layer = [&](const img::Descriptor& layer) {
          send({.ref = layer.digest,
                .status = "extracted",
                .offset = layer.size,
                .total = layer.size,
                .message = "layer"});
        };
        unpacked = UnpackTarget(target, std::move(uo), request->platform());
      });
    };
  }
  absl::StatusOr<img::PullResult> pulled =
      img::PullImage(*store_, *md_, **client, *ref, opts, progress);
  arrived.Finish(pulled.ok());
  if (unpacker.joinable()) unpacker.join();
  if (!pulled.ok()) return ToGrpcStatus(Annotate(pulled.status(), what));
  if (!pulled->up_to_date) {
    publisher_.Publish(*ns, "/images/create", ImageEvent<ev::ImageCreate>(pulled->image));
  }
  if (unpack) {
    if (!unpacked.ok()) {
      return ToGrpcStatus(Annotate(unpacked.status(), absl::StrCat(what, ": unpack")));
    }
    progress({.ref = pulled->image.name,
              .status = "unpacked",
              .offset = unpacked->unpacked(),
              .total = unpacked->layers(),
              .message = unpacked->chain_id()});
  }
  progress({.ref = pulled->image.name,
            .status = pulled->up_to_date ? "up to date" : "downloaded",
            .offset = pulled->downloaded_bytes,
            .total = 0,
            .message = pulled->image.target.digest});
  pb::PullImageResponse done;
  ToProto(pulled->image, done.mutable_image());
  writer->Write(done);
  return grpc::Status::OK;
}

grpc::Status ImagesService::Push(grpc::ServerContext* context, const pb::PushImageRequest* request,
                                 grpc::ServerWriter<pb::PushImageResponse>* writer) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<md::ImageRecord> found = Lookup(*ns, request->name());
  if (!found.ok()) return ToGrpcStatus(Annotate(found.status(), "push"));
  const md::ImageRecord& record = *found;
  absl::StatusOr<img::Reference> dest =
      img::ParseNormalized(request->ref().empty() ? record.name : request->ref());
  if (!dest.ok()) return ToGrpcStatus(Annotate(dest.status(), "push"));
  const std::string what = absl::StrCat("push ", dest->FamiliarString());
  std::mutex write_mu;
  auto progress = [&](const img::TransferProgress& p) {
    pb::PushImageResponse resp;
    ToProto(p, resp.add_progress());
    std::lock_guard<std::mutex> l(write_mu);
    writer->Write(resp);
  };
  absl::StatusOr<std::unique_ptr<::berth::registry::RegistryClient>> client =
      ::berth::registry::RegistryClient::Connect(
          dest->domain, dest->path,
          ClientOptionsFor(registry_, request->registry(), context, /*push=*/true));
  if (!client.ok()) return ToGrpcStatus(Annotate(client.status(), what));
  progress({.ref = dest->String(),
            .status = "resolved",
            .offset = 0,
            .total = 0,
            .message = record.target.digest});
  img::PushOptions opts{.ns = *ns,
                        .platform = PlatformFromProto(request->platform()),
                        .max_concurrent_uploads = registry_.max_concurrent_uploads};
  opts.cancelled = [context] { return context->IsCancelled(); };
  const img::Descriptor target{.media_type = record.target.media_type,
                               .digest = record.target.digest,
                               .size = record.target.size};
  absl::StatusOr<img::Descriptor> pushed =
      img::PushImage(*store_, **client, target, *dest, opts, progress);
  if (!pushed.ok()) return ToGrpcStatus(Annotate(pushed.status(), what));
  pb::PushImageResponse done;
  done.mutable_pushed()->set_media_type(pushed->media_type);
  done.mutable_pushed()->set_digest(pushed->digest);
  done.mutable_pushed()->set_size(pushed->size);
  writer->Write(done);
  return grpc::Status::OK;
}

grpc::Status ImagesService::Login(grpc::ServerContext* context, const pb::LoginRequest* request,
                                  pb::LoginResponse* response) {
  std::string domain = request->registry();
  // Docker's spellings of Docker Hub.
  if (domain.empty() || domain == "index.docker.io" || domain == "registry-1.docker.io" ||
      domain == "https://index.docker.io/v1/") {
    domain = img::kDefaultDomain;
  }
  absl::StatusOr<img::Reference> probe = img::ParseNormalized(absl::StrCat(domain, "/x/y"));
  if (!probe.ok() || probe->domain != domain) {
    return ToGrpcStatus(
        absl::InvalidArgumentError(absl::StrCat("login: "
                                                ", request->registry(), "
                                                " is not a registry host[:port]")));
  }
  absl::StatusOr<std::unique_ptr<::berth::registry::RegistryClient>> client =
      ::berth::registry::RegistryClient::Connect(
          domain, "", ClientOptionsFor(registry_, request->options(), context, false));
  if (!client.ok()) return ToGrpcStatus(Annotate(client.status(), absl::StrCat("login ", domain)));
  response->set_endpoint((*client)->base());
  return grpc::Status::OK;
}

}  // namespace berth::services
