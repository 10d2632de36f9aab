#include "common/address.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Address, Unix) {
  absl::StatusOr<Address> a = ParseAddress("unix:///run/berth/berthd.sock");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->kind, Address::Kind::kUnix);
  EXPECT_EQ(a->path, "/run/berth/berthd.sock");
  EXPECT_EQ(a->GrpcTarget(), "unix:/run/berth/berthd.sock");
  EXPECT_EQ(a->ToString(), "unix:///run/berth/berthd.sock");
  EXPECT_EQ(ParseAddress("/tmp/x.sock")->path, "/tmp/x.sock");
}

TEST(Address, Tcp) {
  absl::StatusOr<Address> a = ParseAddress("tcp://127.0.0.1:7300");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->kind, Address::Kind::kTcp);
  EXPECT_EQ(a->GrpcTarget(), "127.0.0.1:7300");
  EXPECT_TRUE(ParseAddress("tcp://[::1]:7300").ok());
}

TEST(Address, RejectsWithAHint) {
  for (const char* bad : {"unix://relative.sock", "http://x", "tcp://host", "tcp://host:0",
                          "tcp://host:70000", "tcp://:1", ""}) {
    absl::StatusOr<Address> a = ParseAddress(bad);
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(a.status().message().find("unix:///absolute/path"), std::string::npos);
  }
}

}  // namespace
}  // namespace berth
