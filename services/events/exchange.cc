#include "services/events/exchange.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace berth::events {
namespace {

namespace pb = ::berth::services::events::v1;
namespace gp = ::google::protobuf;

// One scalar field as filter text: numbers in decimal, bools as true/false, enums by name.
absl::optional<std::string> ScalarText(const gp::Message& msg, const gp::FieldDescriptor* f) {
  const gp::Reflection* r = msg.GetReflection();
  switch (f->cpp_type()) {
    case gp::FieldDescriptor::CPPTYPE_STRING:
      return r->GetString(msg, f);
    case gp::FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(r->GetInt32(msg, f));
    case gp::FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(r->GetInt64(msg, f));
    case gp::FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(r->GetUInt32(msg, f));
    case gp::FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(r->GetUInt64(msg, f));
    case gp::FieldDescriptor::CPPTYPE_BOOL:
      return r->GetBool(msg, f) ? "true" : "false";
    case gp::FieldDescriptor::CPPTYPE_ENUM:
      return r->GetEnum(msg, f)->name();
    default:
      return absl::nullopt;
  }
}

absl::optional<std::string> MessageField(const gp::Message& msg,
                                         const std::vector<std::string>& path, size_t at) {
  if (at >= path.size()) return absl::nullopt;
  const gp::FieldDescriptor* f = msg.GetDescriptor()->FindFieldByName(path[at]);
  if (f == nullptr) return absl::nullopt;
  const gp::Reflection* r = msg.GetReflection();
  if (f->is_map()) {
    if (at + 1 >= path.size())
      return r->FieldSize(msg, f) > 0 ? absl::optional<std::string>("") : absl::nullopt;
    // Map entries are a repeated message of {key, value}.
    for (int i = 0; i < r->FieldSize(msg, f); ++i) {
      const gp::Message& entry = r->GetRepeatedMessage(msg, f, i);
      const gp::FieldDescriptor* key = entry.GetDescriptor()->FindFieldByNumber(1);
      const gp::FieldDescriptor* value = entry.GetDescriptor()->FindFieldByNumber(2);
      if (entry.GetReflection()->GetString(entry, key) == path[at + 1]) {
        return ScalarText(entry, value);
      }
    }
    return absl::nullopt;
  }
  if (f->is_repeated()) return absl::nullopt;
  if (f->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE) {
    if (!r->HasField(msg, f)) return absl::nullopt;
    return MessageField(r->GetMessage(msg, f), path, at + 1);
  }
  if (at + 1 != path.size()) return absl::nullopt;
  // proto3 scalars have no presence: an empty string or zero reads as absent, so that a bare
  // `event.exec_id` asks "is it set".
  absl::optional<std::string> text = ScalarText(msg, f);
  if (text && (text->empty() || *text == "0" || *text == "false")) {
    return f->cpp_type() == gp::FieldDescriptor::CPPTYPE_STRING ? absl::nullopt : text;
  }
  return text;
}

}  // namespace

absl::optional<std::string> EnvelopeField(const pb::Envelope& envelope,
                                          const std::vector<std::string>& path) {
  if (path.empty()) return absl::nullopt;
  if (path.size() == 1 && path[0] == "topic") return envelope.topic();
  if (path.size() == 1 && path[0] == "namespace") return envelope.namespace_();
  if (path[0] != "event" || path.size() < 2 || !envelope.has_event()) return absl::nullopt;
  const std::string& url = envelope.event().type_url();
  const std::string type = url.substr(url.rfind('/') + 1);
  const gp::Descriptor* desc = gp::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  if (desc == nullptr) return absl::nullopt;
  const gp::Message* prototype = gp::MessageFactory::generated_factory()->GetPrototype(desc);
  if (prototype == nullptr) return absl::nullopt;
  std::unique_ptr<gp::Message> msg(prototype->New());
  if (!msg->ParseFromString(envelope.event().value())) return absl::nullopt;
  return MessageField(*msg, path, 1);
}

absl::StatusOr<absl::optional<pb::Envelope>> Exchange::Subscription::Next(absl::Duration timeout) {
  absl::MutexLock l(&mu);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return !queue.empty() || overflowed; };
  mu.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (overflowed) {
    return absl::ResourceExhaustedError(
        "this subscriber fell too far behind the event stream and was dropped; subscribe again");
  }
  if (queue.empty()) return absl::optional<pb::Envelope>();
  pb::Envelope e = std::move(queue.front());
  queue.pop_front();
  return absl::optional<pb::Envelope>(std::move(e));
}

void Exchange::Publish(const pb::Envelope& envelope) {
  absl::MutexLock l(&mu_);
  for (const std::shared_ptr<Subscription>& s : subs_) {
    if (!s->filter.Match(
            [&](const std::vector<std::string>& path) { return EnvelopeField(envelope, path); })) {
      continue;
    }
    absl::MutexLock sl(&s->mu);
    if (s->overflowed) continue;
    if (s->queue.size() >= queue_limit_) {
      s->overflowed = true;
      s->queue.clear();
      continue;
    }
    s->queue.push_back(envelope);
  }
}

absl::StatusOr<std::shared_ptr<Exchange::Subscription>> Exchange::Subscribe(
    const std::vector<std::string>& filters) {
  absl::StatusOr<Filter> filter = Filter::Parse(filters);
  if (!filter.ok()) return filter.status();
  auto sub = std::make_shared<Subscription>();
  sub->filter = *std::move(filter);
  absl::MutexLock l(&mu_);
  subs_.push_back(sub);
  return sub;
}

void Exchange::Unsubscribe(const std::shared_ptr<Subscription>& sub) {
  absl::MutexLock l(&mu_);
  subs_.remove(sub);
}

size_t Exchange::subscribers() const {
  absl::MutexLock l(&mu_);
  return subs_.size();
}

}  // namespace berth::events
