#include "services/events/exchange.h"

#include <gtest/gtest.h>

#include "berth/events/v1/events.pb.h"

namespace berth::events {
namespace {

namespace pb = ::berth::services::events::v1;

pb::Envelope Make(const std::string& ns, const std::string& topic,
                  const google::protobuf::Message& event) {
  pb::Envelope e;
  e.set_namespace_(ns);
  e.set_topic(topic);
  e.mutable_event()->PackFrom(event, "types.berth.io");
  return e;
}

::berth::events::v1::TaskExit Exit(const std::string& id, uint32_t status) {
  ::berth::events::v1::TaskExit x;
  x.set_container_id(id);
  x.set_exit_status(status);
  return x;
}

TEST(EnvelopeField, ReadsTopicNamespaceAndPayloadFields) {
  pb::Envelope e = Make("prod", "/tasks/exit", Exit("web", 137));
  EXPECT_EQ(EnvelopeField(e, {"topic"}), "/tasks/exit");
  EXPECT_EQ(EnvelopeField(e, {"namespace"}), "prod");
  EXPECT_EQ(EnvelopeField(e, {"event", "container_id"}), "web");
  EXPECT_EQ(EnvelopeField(e, {"event", "exit_status"}), "137");
  EXPECT_EQ(EnvelopeField(e, {"event", "exec_id"}), absl::nullopt);  // empty: absent
  EXPECT_EQ(EnvelopeField(e, {"event", "nonsense"}), absl::nullopt);

  ::berth::events::v1::ImageCreate img;
  img.set_name("docker.io/library/busybox:latest");
  (*img.mutable_labels())["tier"] = "base";
  pb::Envelope i = Make("default", "/images/create", img);
  EXPECT_EQ(EnvelopeField(i, {"event", "labels", "tier"}), "base");
  EXPECT_EQ(EnvelopeField(i, {"event", "labels", "other"}), absl::nullopt);
}

TEST(Exchange, DeliversOnlyWhatTheFiltersMatch) {
  Exchange x;
  auto all = x.Subscribe({});
  auto tasks = x.Subscribe({"topic~=^/tasks/,namespace==default"});
  auto one = x.Subscribe({"event.container_id==db", "topic==/images/delete"});
  ASSERT_TRUE(all.ok() && tasks.ok() && one.ok());

  x.Publish(Make("default", "/tasks/exit", Exit("web", 0)));
  x.Publish(Make("other", "/tasks/exit", Exit("db", 1)));
  ::berth::events::v1::ImageDelete del;
  del.set_name("x");
  x.Publish(Make("default", "/images/delete", del));

  auto drain = [](const std::shared_ptr<Exchange::Subscription>& s) {
    std::vector<std::string> got;
    for (;;) {
      auto n = s->Next(absl::ZeroDuration());
      if (!n.ok() || !n->has_value()) return got;
      got.push_back((*n)->namespace_() + (*n)->topic());
    }
  };
  EXPECT_EQ(drain(*all), (std::vector<std::string>{"default/tasks/exit", "other/tasks/exit",
                                                   "default/images/delete"}));
  EXPECT_EQ(drain(*tasks), (std::vector<std::string>{"default/tasks/exit"}));
  EXPECT_EQ(drain(*one), (std::vector<std::string>{"other/tasks/exit", "default/images/delete"}));
}

TEST(Exchange, RejectsBadFiltersAndDropsASubscriberThatFallsBehind) {
  Exchange x(/*queue_limit=*/2);
  EXPECT_EQ(x.Subscribe({"topic~=("}).status().code(), absl::StatusCode::kInvalidArgument);
  auto s = x.Subscribe({});
  ASSERT_TRUE(s.ok());
  for (int i = 0; i < 3; ++i) x.Publish(Make("default", "/tasks/exit", Exit("a", 0)));
  auto n = (*s)->Next(absl::ZeroDuration());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kResourceExhausted);
  x.Unsubscribe(*s);
  EXPECT_EQ(x.subscribers(), 0u);
}

}  // namespace
}  // namespace berth::events
