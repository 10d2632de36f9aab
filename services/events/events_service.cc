#include "services/events/events_service.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "services/common/proto_time.h"
#include "services/common/request_metadata.h"

namespace berth::services {
namespace {

namespace pb = ::berth::services::events::v1;

// How often a quiet Subscribe looks whether its client has gone.
constexpr absl::Duration kPoll = absl::Milliseconds(200);

absl::Status ValidateTopic(const std::string& topic) {
  if (topic.size() < 2 || topic[0] != '/' || absl::EndsWith(topic, "/") ||
      absl::StrContains(topic, "//")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid topic \"", topic, "\": topics are slash-separated paths like /tasks/exit"));
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status EventsService::Publish(grpc::ServerContext* context, const pb::PublishRequest* request,
                                    google::protobuf::Empty*) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  if (absl::Status st = ValidateTopic(request->topic()); !st.ok()) return ToGrpcStatus(st);
  pb::Envelope e;
  ToProto(absl::Now(), e.mutable_timestamp());
  e.set_namespace_(*ns);
  e.set_topic(request->topic());
  *e.mutable_event() = request->event();
  exchange_->Publish(e);
  return grpc::Status::OK;
}

grpc::Status EventsService::Forward(grpc::ServerContext*, const pb::ForwardRequest* request,
                                    google::protobuf::Empty*) {
  const pb::Envelope& e = request->envelope();
  if (absl::Status st = ValidateTopic(e.topic()); !st.ok()) return ToGrpcStatus(st);
  if (e.namespace_().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "a forwarded envelope needs its namespace");
  }
  exchange_->Publish(e);
  return grpc::Status::OK;
}

grpc::Status EventsService::Subscribe(grpc::ServerContext* context,
                                      const pb::SubscribeRequest* request,
                                      grpc::ServerWriter<pb::Envelope>* writer) {
  absl::StatusOr<std::shared_ptr<::berth::events::Exchange::Subscription>> sub =
      exchange_->Subscribe({request->filters().begin(), request->filters().end()});
  if (!sub.ok()) return ToGrpcStatus(sub.status());
  // Headers go out now, so a client knows it is subscribed before the first event.
  writer->SendInitialMetadata();
  grpc::Status result = grpc::Status::OK;
  while (!context->IsCancelled()) {
    absl::StatusOr<absl::optional<pb::Envelope>> next = (*sub)->Next(kPoll);
    if (!next.ok()) {
      result = ToGrpcStatus(next.status());
      break;
    }
    if (next->has_value() && !writer->Write(**next)) break;
  }
  exchange_->Unsubscribe(*sub);
  return result;
}

}  // namespace berth::services
