// How a service posts an event: through the events service's Publish RPC on whatever channel
// the registry gives (in-process, or a remote events service), so the bus is the same in every
// layout. Publishing never fails the caller's operation: an event that cannot be delivered is
// logged and dropped.
#ifndef BERTH_SERVICES_EVENTS_PUBLISHER_H_
#define BERTH_SERVICES_EVENTS_PUBLISHER_H_

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

namespace berth::events {

class Publisher {
 public:
  using ChannelSource = std::function<std::shared_ptr<grpc::Channel>()>;

  Publisher() = default;  // publishes nothing
  explicit Publisher(ChannelSource channel) : channel_(std::move(channel)) {}

  void Publish(const std::string& ns, const std::string& topic,
               const google::protobuf::Message& event) const;

 private:
  ChannelSource channel_;
};

}  // namespace berth::events

#endif  // BERTH_SERVICES_EVENTS_PUBLISHER_H_
