#include "ctl/image_format.h"

#include <gtest/gtest.h>

namespace berth::ctl {
namespace {

TEST(ImageFormat, HumanSizeAsDocker) {
  EXPECT_EQ(HumanSize(0), "0B");
  EXPECT_EQ(HumanSize(999), "999B");
  EXPECT_EQ(HumanSize(1000), "1kB");
  EXPECT_EQ(HumanSize(4261897), "4.26MB");
  EXPECT_EQ(HumanSize(72800000), "72.8MB");
  EXPECT_EQ(HumanSize(1234567890), "1.23GB");
}

TEST(ImageFormat, HumanDurationAsDocker) {
  EXPECT_EQ(HumanDuration(absl::Milliseconds(300)), "Less than a second");
  EXPECT_EQ(HumanDuration(absl::Seconds(1)), "1 second");
  EXPECT_EQ(HumanDuration(absl::Seconds(42)), "42 seconds");
  EXPECT_EQ(HumanDuration(absl::Seconds(90)), "About a minute");
  EXPECT_EQ(HumanDuration(absl::Minutes(17)), "17 minutes");
  EXPECT_EQ(HumanDuration(absl::Minutes(70)), "About an hour");
  EXPECT_EQ(HumanDuration(absl::Hours(2)), "2 hours");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 5)), "5 days");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 21)), "3 weeks");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 90)), "3 months");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 365 * 3)), "3 years");
}

TEST(ImageFormat, SplitsNormalisedNames) {
  RepoTag a = SplitName("docker.io/library/busybox:latest");
  EXPECT_EQ(a.repository, "busybox");
  EXPECT_EQ(a.tag, "latest");
  RepoTag b = SplitName("docker.io/foo/bar:1");
  EXPECT_EQ(b.repository, "foo/bar");
  RepoTag c = SplitName("localhost:5000/x:2");
  EXPECT_EQ(c.repository, "localhost:5000/x");
  EXPECT_EQ(c.tag, "2");
  RepoTag d = SplitName("docker.io/library/busybox@sha256:abc");
  EXPECT_EQ(d.repository, "busybox");
  EXPECT_EQ(d.tag, "<none>");
  EXPECT_EQ(d.digest, "sha256:abc");
  EXPECT_EQ(FamiliarName("docker.io/library/a/b:1"), "library/a/b:1");
  EXPECT_EQ(ShortId("sha256:0123456789abcdef", false), "0123456789ab");
  EXPECT_EQ(ShortId("sha256:0123456789abcdef", true), "sha256:0123456789abcdef");
}

TEST(ImageFormat, DanglingImagesShowAsNone) {
  const std::string name = "berth.invalid/dangling@sha256:" + std::string(64, 'a');
  RepoTag r = SplitName(name);
  EXPECT_TRUE(r.dangling);
  EXPECT_EQ(r.repository, "<none>");
  EXPECT_EQ(r.tag, "<none>");
  EXPECT_EQ(r.digest, "");
  EXPECT_EQ(FamiliarName(name), "<none>:<none>");
  EXPECT_FALSE(SplitName("docker.io/library/busybox@sha256:abc").dangling);
}

}  // namespace
}  // namespace berth::ctl
