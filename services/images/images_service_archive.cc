// ImagesService: Import (load) and Export (save) of image archives, and Unpack into a snapshotter.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "berth/events/v1/events.pb.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "services/common/request_metadata.h"
#include "services/images/exporter.h"
#include "services/images/images_service.h"
#include "services/images/images_service_internal.h"
#include "services/images/importer.h"
#include "services/images/oci.h"
#include "services/images/unpack.h"
#include "services/metadata/image_records.h"

namespace berth::services {
namespace {

constexpr int kDefaultExportChunk = 1 << 20;
constexpr int kMaxExportChunk = 3 << 20;  // under gRPC's 4 MiB message limit
constexpr int kMinExportChunk = 4 << 10;

struct UnpackChannels {
  std::shared_ptr<grpc::Channel> snapshots;
  std::shared_ptr<grpc::Channel> diff;
};

absl::StatusOr<UnpackChannels> ChannelsForUnpack(const ImagesService::ChannelFn& channels) {
  UnpackChannels c{.snapshots = channels ? channels("snapshots") : nullptr,
                   .diff = channels ? channels("diff") : nullptr};
  if (c.snapshots == nullptr || c.diff == nullptr) {
    return absl::FailedPreconditionError(
        "unpack needs the snapshots and diff services, hosted here or listed under remote:");
  }
  return c;
}

}  // namespace

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
  // Before the lookup, so that a daemon that cannot unpack says so whatever the name.
  RETURN_IF_ERROR(ChannelsForUnpack(channels_).status());
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
  ASSIGN_OR_RETURN(UnpackChannels channels, ChannelsForUnpack(channels_));
  absl::optional<img::Platform> p = PlatformFromProto(platform);
  opts.platform = p ? *p : img::HostPlatform();
  auto snaps = ::berth::services::snapshots::v1::Snapshots::NewStub(channels.snapshots);
  auto diff = ::berth::services::diff::v1::Diff::NewStub(channels.diff);
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

}  // namespace berth::services
