#include "services/events/publisher.h"

#include <chrono>

#include "berth/services/events/v1/events.grpc.pb.h"
#include "common/namespace.h"
#include "spdlog/spdlog.h"

namespace berth::events {

namespace pb = ::berth::services::events::v1;

void Publisher::Publish(const std::string& ns, const std::string& topic,
                        const google::protobuf::Message& event) const {
  if (!channel_) return;
  std::shared_ptr<grpc::Channel> channel = channel_();
  if (channel == nullptr) return;  // no events service anywhere: nobody can listen
  pb::PublishRequest req;
  req.set_topic(topic);
  req.mutable_event()->PackFrom(event, "types.berth.io");
  grpc::ClientContext ctx;
  ctx.AddMetadata(kNamespaceMetadataKey, ns);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  google::protobuf::Empty resp;
  grpc::Status st = pb::Events::NewStub(channel)->Publish(&ctx, req, &resp);
  if (!st.ok()) {
    spdlog::warn("event {} in namespace {} was not published: {}", topic, ns, st.error_message());
  }
}

}  // namespace berth::events
