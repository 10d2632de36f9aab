#include "common/port_spec.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(PortSpec, ParsesDockersForms) {
  absl::StatusOr<PortSpec> p = ParsePortSpec("127.0.0.1:18080:80");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host_ip, "127.0.0.1");
  EXPECT_EQ(p->host_port, 18080);
  EXPECT_EQ(p->container_port, 80);
  EXPECT_EQ(p->protocol, "tcp");
  EXPECT_EQ(p->ToString(), "127.0.0.1:18080:80/tcp");

  p = ParsePortSpec("8080:80/udp");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->ToString(), "8080:80/udp");
  p = ParsePortSpec("53/udp");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host_port, 0);
  EXPECT_EQ(p->ToString(), "53/udp");
  p = ParsePortSpec("127.0.0.1::80");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->ToString(), "127.0.0.1::80/tcp");
  EXPECT_EQ(ParsePortSpec("0.0.0.0:80:80")->host_ip, "");

  absl::StatusOr<std::vector<PortSpec>> list = ParsePortSpecs("80/tcp,127.0.0.1:9:9/udp");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
}

TEST(PortSpec, RefusesWhatDockerRefuses) {
  EXPECT_EQ(ParsePortSpec("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePortSpec("abc").status().message(),
            "invalid port \"abc\" in \"abc\": ports are 1-65535");
  EXPECT_FALSE(ParsePortSpec("70000").ok());
  EXPECT_FALSE(ParsePortSpec("0").ok());
  EXPECT_FALSE(ParsePortSpec("80/sctp").ok());
  EXPECT_FALSE(ParsePortSpec("1.2.3:80:80").ok());
  EXPECT_FALSE(ParsePortSpec("a:b:c:d").ok());
}

}  // namespace
}  // namespace berth
