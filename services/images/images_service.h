// berth.services.images.v1.Images: image records in the metadata database (names normalised as
// Docker does), Import/Export of image archives through the content store, and Pull/Push/Login
// against OCI distribution registries (services/images/registry/).
#ifndef BERTH_SERVICES_IMAGES_IMAGES_SERVICE_H_
#define BERTH_SERVICES_IMAGES_IMAGES_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "berth/services/images/v1/images.grpc.pb.h"
#include "services/content/content_store.h"
#include "services/events/publisher.h"
#include "services/images/oci.h"
#include "services/images/registry/hosts.h"
#include "services/images/unpack.h"
#include "services/metadata/image_records.h"
#include "services/metadata/store.h"

namespace berth::services {

// How the service reaches registries (daemon config: registry_mirrors, insecure_registries,
// registry_certs_dir, max_concurrent_downloads, max_concurrent_uploads).
struct RegistryConfig {
  ::berth::registry::HostsConfig hosts;
  int max_concurrent_downloads = 3;
  int max_concurrent_uploads = 3;
};

class ImagesService final : public ::berth::services::images::v1::Images::Service {
 public:
  // Hands out a channel to another service by short name ("snapshots", "diff"), or null.
  using ChannelFn = std::function<std::shared_ptr<grpc::Channel>(const std::string&)>;
  ImagesService(std::shared_ptr<::berth::content::ContentStore> store,
                std::shared_ptr<::berth::metadata::MetadataStore> md, ChannelFn channels = nullptr,
                RegistryConfig registry = {});

  grpc::Status Get(grpc::ServerContext* context,
                   const ::berth::services::images::v1::GetImageRequest* request,
                   ::berth::services::images::v1::GetImageResponse* response) override;
  grpc::Status List(grpc::ServerContext* context,
                    const ::berth::services::images::v1::ListImagesRequest* request,
                    ::berth::services::images::v1::ListImagesResponse* response) override;
  grpc::Status Create(grpc::ServerContext* context,
                      const ::berth::services::images::v1::CreateImageRequest* request,
                      ::berth::services::images::v1::CreateImageResponse* response) override;
  grpc::Status Update(grpc::ServerContext* context,
                      const ::berth::services::images::v1::UpdateImageRequest* request,
                      ::berth::services::images::v1::UpdateImageResponse* response) override;
  grpc::Status Delete(grpc::ServerContext* context,
                      const ::berth::services::images::v1::DeleteImageRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status Tag(grpc::ServerContext* context,
                   const ::berth::services::images::v1::TagImageRequest* request,
                   ::berth::services::images::v1::TagImageResponse* response) override;
  grpc::Status Import(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<::berth::services::images::v1::ImportImageResponse,
                               ::berth::services::images::v1::ImportImageRequest>* stream) override;
  grpc::Status Export(
      grpc::ServerContext* context,
      const ::berth::services::images::v1::ExportImageRequest* request,
      grpc::ServerWriter<::berth::services::images::v1::ExportImageResponse>* writer) override;

  grpc::Status Unpack(grpc::ServerContext* context,
                      const ::berth::services::images::v1::UnpackImageRequest* request,
                      ::berth::services::images::v1::UnpackImageResponse* response) override;

  grpc::Status Pull(
      grpc::ServerContext* context, const ::berth::services::images::v1::PullImageRequest* request,
      grpc::ServerWriter<::berth::services::images::v1::PullImageResponse>* writer) override;
  grpc::Status Push(
      grpc::ServerContext* context, const ::berth::services::images::v1::PushImageRequest* request,
      grpc::ServerWriter<::berth::services::images::v1::PushImageResponse>* writer) override;
  grpc::Status Login(grpc::ServerContext* context,
                     const ::berth::services::images::v1::LoginRequest* request,
                     ::berth::services::images::v1::LoginResponse* response) override;

 private:
  // The image `source` names: by name; else by a unique prefix (4+ hex digits) of its target
  // digest or of its config digest (the image ID that `berth images` shows).
  absl::StatusOr<::berth::metadata::ImageRecord> Lookup(const std::string& ns,
                                                        const std::string& source);
  absl::StatusOr<::berth::services::images::v1::UnpackImageResponse> UnpackImage(
      const std::string& ns, const std::string& name, const std::string& snapshotter,
      const ::berth::types::v1::Platform& platform);
  // Unpacks `target` (options.ns, snapshotter and hooks as given; platform from `platform`).
  absl::StatusOr<::berth::services::images::v1::UnpackImageResponse> UnpackTarget(
      const ::berth::images::Descriptor& target, ::berth::images::UnpackOptions options,
      const ::berth::types::v1::Platform& platform);

  const ChannelFn channels_;
  const RegistryConfig registry_;
  const ::berth::events::Publisher publisher_;
  const std::shared_ptr<::berth::content::ContentStore> store_;
  const std::shared_ptr<::berth::metadata::MetadataStore> md_;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_IMAGES_IMAGES_SERVICE_H_
