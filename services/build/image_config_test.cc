#include "services/build/image_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::build {
namespace {

using ::testing::ElementsAre;

TEST(ImageConfig, ScratchHasPathAndNoLayers) {
  Json doc = ScratchConfig("linux", "amd64");
  EXPECT_EQ(doc["os"], "linux");
  EXPECT_THAT(StringList(doc["config"], "Env"),
              ElementsAre(std::string("PATH=") + kDefaultPathEnv));
  EXPECT_TRUE(DiffIds(doc).empty());
}

TEST(ImageConfig, BaseLeftoversGo) {
  Json base = {{"container", "abc"},
               {"container_config", Json::object()},
               {"docker_version", "20.10"},
               {"config", {{"Cmd", {"sh"}}}},
               {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:a"}}}}};
  Json doc = ConfigFromBase(base);
  EXPECT_FALSE(doc.contains("container"));
  EXPECT_FALSE(doc.contains("container_config"));
  EXPECT_THAT(DiffIds(doc), ElementsAre("sha256:a"));
  EXPECT_TRUE(doc["history"].is_array());
}

TEST(ImageConfig, EnvReplacesInPlace) {
  Json cfg = {{"Env", {"A=1", "B=2"}}};
  SetEnv(cfg, "A", "3");
  SetEnv(cfg, "C", "x=y");
  EXPECT_THAT(StringList(cfg, "Env"), ElementsAre("A=3", "B=2", "C=x=y"));
  EXPECT_EQ(EnvMap(cfg).at("C"), "x=y");
}

TEST(ImageConfig, HistoryAndTimes) {
  Json doc = ScratchConfig("linux", "amd64");
  const absl::Time t = absl::FromUnixNanos(1700000000123456789);
  AddHistory(doc, "ENV A=1", t, true);
  AddHistory(doc, "COPY a /a", t, false);
  AddDiffId(doc, "sha256:x");
  EXPECT_EQ(doc["history"][0]["created"], "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(doc["history"][0]["empty_layer"], true);
  EXPECT_FALSE(doc["history"][1].contains("empty_layer"));
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20.123456789Z"), t);
  EXPECT_EQ(Rfc3339(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
}

TEST(ImageConfig, Ports) {
  EXPECT_THAT(*ParsePorts("80"), ElementsAre("80/tcp"));
  EXPECT_THAT(*ParsePorts("53/UDP"), ElementsAre("53/udp"));
  EXPECT_THAT(*ParsePorts("8000-8002/tcp"), ElementsAre("8000/tcp", "8001/tcp", "8002/tcp"));
  EXPECT_FALSE(ParsePorts("http").ok());
  EXPECT_FALSE(ParsePorts("70000").ok());
  EXPECT_FALSE(ParsePorts("80/icmp").ok());
  EXPECT_FALSE(ParsePorts("9-3").ok());
}

TEST(ImageConfig, Durations) {
  EXPECT_EQ(*ParseDurationNanos("interval", "30s"), 30000000000);
  EXPECT_EQ(*ParseDurationNanos("interval", "1m30s"), 90000000000);
  EXPECT_FALSE(ParseDurationNanos("interval", "soon").ok());
  EXPECT_FALSE(ParseDurationNanos("interval", "10ns").ok());
}

}  // namespace
}  // namespace berth::build
