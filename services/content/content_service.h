// berth.services.content.v1.Content over a ContentStore. The namespace of every call comes
// from the request metadata; a Write made with "berth-lease" adds its blob to that lease.
#ifndef BERTH_SERVICES_CONTENT_CONTENT_SERVICE_H_
#define BERTH_SERVICES_CONTENT_CONTENT_SERVICE_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "berth/services/content/v1/content.grpc.pb.h"
#include "services/content/content_store.h"

namespace berth::services {

class ContentService final : public berth::services::content::v1::Content::Service {
 public:
  // `collect` runs garbage collection; Delete calls it once the record is gone.
  ContentService(std::shared_ptr<::berth::content::ContentStore> store,
                 std::function<absl::Status()> collect);

  grpc::Status Info(grpc::ServerContext* context,
                    const berth::services::content::v1::InfoRequest* request,
                    berth::services::content::v1::InfoResponse* response) override;
  grpc::Status Update(grpc::ServerContext* context,
                      const berth::services::content::v1::UpdateRequest* request,
                      berth::services::content::v1::UpdateResponse* response) override;
  grpc::Status List(
      grpc::ServerContext* context, const berth::services::content::v1::ListContentRequest* request,
      grpc::ServerWriter<berth::services::content::v1::ListContentResponse>* writer) override;
  grpc::Status Delete(grpc::ServerContext* context,
                      const berth::services::content::v1::DeleteContentRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status Read(
      grpc::ServerContext* context, const berth::services::content::v1::ReadContentRequest* request,
      grpc::ServerWriter<berth::services::content::v1::ReadContentResponse>* writer) override;
  grpc::Status Status(grpc::ServerContext* context,
                      const berth::services::content::v1::StatusRequest* request,
                      berth::services::content::v1::StatusResponse* response) override;
  grpc::Status ListStatuses(grpc::ServerContext* context,
                            const berth::services::content::v1::ListStatusesRequest* request,
                            berth::services::content::v1::ListStatusesResponse* response) override;
  grpc::Status Write(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<berth::services::content::v1::WriteContentResponse,
                               berth::services::content::v1::WriteContentRequest>* stream) override;
  grpc::Status Abort(grpc::ServerContext* context,
                     const berth::services::content::v1::AbortRequest* request,
                     google::protobuf::Empty* response) override;

 private:
  absl::Status DoWrite(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<berth::services::content::v1::WriteContentResponse,
                               berth::services::content::v1::WriteContentRequest>* stream);

  const std::shared_ptr<::berth::content::ContentStore> store_;
  const std::function<absl::Status()> collect_;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_CONTENT_CONTENT_SERVICE_H_
