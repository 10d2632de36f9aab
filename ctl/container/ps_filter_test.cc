#include "ctl/container/ps_filter.h"

#include <gtest/gtest.h>

namespace berth::ctl {
namespace {

PsCandidate Web() {
  PsCandidate c;
  c.id = "4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
  c.name = "web";
  c.image = "docker.io/library/busybox:latest";
  c.image_id = "sha256:abcdef0123456789";
  c.labels = {{"app", "shop"}, {"tier", "front"}};
  c.status = ContainerStatus::kExited;
  c.exit_code = 3;
  return c;
}

bool Matches(const std::vector<std::string>& args, const PsCandidate& c = Web()) {
  absl::StatusOr<PsFilter> f = PsFilter::Parse(args);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() && f->Match(c);
}

TEST(PsFilter, EachKey) {
  EXPECT_TRUE(Matches({}));
  EXPECT_TRUE(Matches({"status=exited"}));
  EXPECT_FALSE(Matches({"status=running"}));
  EXPECT_TRUE(Matches({"status=running", "status=exited"}));  // alternatives
  EXPECT_TRUE(Matches({"exited=3"}));
  EXPECT_FALSE(Matches({"exited=0"}));
  EXPECT_TRUE(Matches({"name=we"}));
  EXPECT_TRUE(Matches({"name=^web$"}));
  EXPECT_TRUE(Matches({"name=^/web"}));
  EXPECT_FALSE(Matches({"name=^eb"}));
  EXPECT_TRUE(Matches({"id=4f1e2d"}));
  EXPECT_FALSE(Matches({"id=^1e2d"}));
  EXPECT_TRUE(Matches({"label=app"}));
  EXPECT_TRUE(Matches({"label=app=shop"}));
  EXPECT_FALSE(Matches({"label=app=bank"}));
  EXPECT_FALSE(Matches({"label=app", "label=missing"}));  // labels all hold
  EXPECT_TRUE(Matches({"ancestor=busybox"}));
  EXPECT_TRUE(Matches({"ancestor=busybox:latest"}));
  EXPECT_TRUE(Matches({"ancestor=docker.io/library/busybox:latest"}));
  EXPECT_TRUE(Matches({"ancestor=abcdef01"}));
  EXPECT_TRUE(Matches({"ancestor=sha256:abcdef01"}));
  EXPECT_FALSE(Matches({"ancestor=busybox:1.36"}));
  EXPECT_FALSE(Matches({"ancestor=alpine"}));
  EXPECT_TRUE(Matches({"status=exited", "name=web", "label=tier=front"}));
  EXPECT_FALSE(Matches({"status=exited", "name=db"}));
}

TEST(PsFilter, ExitedOnlyMatchesExitedContainers) {
  PsCandidate c = Web();
  c.status = ContainerStatus::kRunning;
  c.exit_code = 0;
  EXPECT_FALSE(Matches({"exited=0"}, c));
}

TEST(PsFilter, ImpliesAll) {
  EXPECT_TRUE(PsFilter::Parse({"status=exited"})->ImpliesAll());
  EXPECT_TRUE(PsFilter::Parse({"exited=1"})->ImpliesAll());
  EXPECT_FALSE(PsFilter::Parse({"name=x"})->ImpliesAll());
}

TEST(PsFilter, DockerMessages) {
  EXPECT_EQ(PsFilter::Parse({"status"}).status().message(),
            "bad format of filter (expected name=value)");
  EXPECT_EQ(PsFilter::Parse({"colour=red"}).status().message(), "invalid filter 'colour'");
  EXPECT_EQ(PsFilter::Parse({"status=up"}).status().message(), "invalid filter 'status=up'");
  EXPECT_EQ(PsFilter::Parse({"exited=x"}).status().message(), "invalid filter 'exited=x'");
  EXPECT_FALSE(PsFilter::Parse({"name=("}).ok());
}

}  // namespace
}  // namespace berth::ctl
