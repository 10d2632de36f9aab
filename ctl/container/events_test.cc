#include "ctl/container/events.h"

#include <gtest/gtest.h>

#include "berth/events/v1/events.pb.h"

namespace berth::ctl {
namespace {

namespace ev = berth::events::v1;
using berth::services::events::v1::Envelope;

Envelope Make(const std::string& topic, const google::protobuf::Message& m) {
  Envelope env;
  env.set_topic(topic);
  env.set_namespace_("default");
  env.mutable_timestamp()->set_seconds(1764324000);
  env.mutable_timestamp()->set_nanos(5);
  env.mutable_event()->PackFrom(m);
  return env;
}

absl::optional<EventContainer> Web(const std::string& id) {
  if (id != "abc123") return absl::nullopt;
  return EventContainer{"web",
                        "docker.io/library/busybox:latest",
                        {{"app", "shop"}, {"berth.io/restart-policy", "no"}}};
}

TEST(Events, ContainerLifecycleAsDocker) {
  ev::TaskStart start;
  start.set_container_id("abc123");
  absl::optional<DockerEvent> e = ToDockerEvent(Make("/tasks/start", start), Web);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(EventLine(*e, absl::UTCTimeZone()),
            "2025-11-28T10:00:00.000000005Z container start abc123 (app=shop, image=busybox, "
            "name=web)");

  ev::TaskExit exit;
  exit.set_container_id("abc123");
  exit.set_exit_status(137);
  e = ToDockerEvent(Make("/tasks/exit", exit), Web);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->action, "die");
  EXPECT_EQ(e->attributes["exitCode"], "137");

  exit.set_exec_id("e1");
  e = ToDockerEvent(Make("/tasks/exit", exit), Web);
  EXPECT_EQ(e->action, "exec_die");
  EXPECT_EQ(e->attributes["execID"], "e1");

  ev::ContainerDelete del;
  del.set_id("gone");
  del.set_name("old");
  e = ToDockerEvent(Make("/containers/delete", del), Web);
  EXPECT_EQ(EventLine(*e, absl::UTCTimeZone()),
            "2025-11-28T10:00:00.000000005Z container destroy gone (name=old)");

  ev::TaskCreate create;
  EXPECT_FALSE(ToDockerEvent(Make("/tasks/create", create), Web).has_value());
}

TEST(Events, Images) {
  ev::ImageCreate c;
  c.set_name("docker.io/library/busybox:latest");
  absl::optional<DockerEvent> e = ToDockerEvent(Make("/images/create", c), Web);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->type, "image");
  EXPECT_EQ(e->action, "tag");
  EXPECT_EQ(e->attributes["name"], "busybox");
  ev::ImageUpdate u;
  u.set_name("docker.io/library/busybox:1");
  e = ToDockerEvent(Make("/images/update", u), Web);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->attributes["name"], "busybox:1");
}

TEST(Events, ObjectForTemplates) {
  ev::TaskPaused p;
  p.set_container_id("abc123");
  absl::optional<DockerEvent> e = ToDockerEvent(Make("/tasks/paused", p), Web);
  const nlohmann::json j = EventObject(*e);
  EXPECT_EQ(j["Type"], "container");
  EXPECT_EQ(j["Action"], "pause");
  EXPECT_EQ(j["Actor"]["ID"], "abc123");
  EXPECT_EQ(j["Actor"]["Attributes"]["name"], "web");
  EXPECT_EQ(j["status"], "pause");
  EXPECT_EQ(j["from"], "busybox");
  EXPECT_EQ(j["time"], 1764324000);
  EXPECT_EQ(j["timeNano"], 1764324000000000005);
}

TEST(Events, Filters) {
  ev::TaskStart start;
  start.set_container_id("abc123");
  const DockerEvent e = *ToDockerEvent(Make("/tasks/start", start), Web);
  const auto match = [&](const std::vector<std::string>& args) {
    absl::StatusOr<EventFilter> f = EventFilter::Parse(args);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() && f->Match(e);
  };
  EXPECT_TRUE(match({}));
  EXPECT_TRUE(match({"container=web"}));
  EXPECT_TRUE(match({"container=abc"}));
  EXPECT_FALSE(match({"container=db"}));
  EXPECT_TRUE(match({"event=die", "event=start"}));
  EXPECT_FALSE(match({"event=die"}));
  EXPECT_TRUE(match({"type=container", "image=busybox", "label=app=shop"}));
  EXPECT_FALSE(match({"type=image"}));
  EXPECT_EQ(EventFilter::Parse({"colour=red"}).status().message(), "invalid filter 'colour'");
  EXPECT_EQ(EventFilter::Parse({"event"}).status().message(),
            "bad format of filter (expected name=value)");
}

}  // namespace
}  // namespace berth::ctl
