// berth.services.events.v1.Events: Publish, Forward and Subscribe over one Exchange.
#ifndef BERTH_SERVICES_EVENTS_EVENTS_SERVICE_H_
#define BERTH_SERVICES_EVENTS_EVENTS_SERVICE_H_

#include <memory>

#include "berth/services/events/v1/events.grpc.pb.h"
#include "services/events/exchange.h"

namespace berth::services {

class EventsService final : public ::berth::services::events::v1::Events::Service {
 public:
  explicit EventsService(std::shared_ptr<::berth::events::Exchange> exchange)
      : exchange_(std::move(exchange)) {}

  grpc::Status Publish(grpc::ServerContext* context,
                       const ::berth::services::events::v1::PublishRequest* request,
                       google::protobuf::Empty* response) override;
  grpc::Status Forward(grpc::ServerContext* context,
                       const ::berth::services::events::v1::ForwardRequest* request,
                       google::protobuf::Empty* response) override;
  grpc::Status Subscribe(
      grpc::ServerContext* context, const ::berth::services::events::v1::SubscribeRequest* request,
      grpc::ServerWriter<::berth::services::events::v1::Envelope>* writer) override;

 private:
  std::shared_ptr<::berth::events::Exchange> exchange_;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_EVENTS_EVENTS_SERVICE_H_
