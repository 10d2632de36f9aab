#include "services/images/registry/auth.h"

#include <gtest/gtest.h>

namespace berth::registry {
namespace {

TEST(ParseChallenges, BearerWithQuotedParams) {
  auto cs = ParseChallenges(
      {R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")"});
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(cs[0].params["service"], "registry.docker.io");
  EXPECT_EQ(cs[0].params["scope"], "repository:library/busybox:pull");
}

TEST(ParseChallenges, SeveralInOneHeaderAndAcrossHeaders) {
  auto cs = ParseChallenges(
      {R"(Basic realm="basic-realm", Bearer realm="https://t/x", error=invalid_token)",
       "Negotiate"});
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0].scheme, "basic");
  EXPECT_EQ(cs[0].params["realm"], "basic-realm");
  EXPECT_EQ(cs[1].scheme, "bearer");
  EXPECT_EQ(cs[1].params["realm"], "https://t/x");
  EXPECT_EQ(cs[1].params["error"], "invalid_token");
  EXPECT_EQ(cs[2].scheme, "negotiate");
  EXPECT_TRUE(cs[2].params.empty());
}

TEST(ParseChallenges, EscapesAndCaseAndGarbage) {
  auto cs = ParseChallenges({R"(  BASIC Realm="a \"quoted\" realm" ,, )"});
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "basic");
  EXPECT_EQ(cs[0].params["realm"], "a \"quoted\" realm");
  EXPECT_TRUE(ParseChallenges({""}).empty());
  EXPECT_TRUE(ParseChallenges({" , ; "}).size() <= 1u);
}

TEST(BasicAuthorization, Base64OfUserColonPassword) {
  EXPECT_EQ(BasicAuthorization({.username = "aladdin", .password = "opensesame"}),
            "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
}

TEST(RepositoryScope, PullAndPush) {
  EXPECT_EQ(RepositoryScope("library/busybox", false), "repository:library/busybox:pull");
  EXPECT_EQ(RepositoryScope("a/b", true), "repository:a/b:pull,push");
}

TEST(FetchBearerToken, RealmMustBeAUrl) {
  Challenge c{.scheme = "bearer", .params = {{"realm", "nowhere"}}};
  auto t = FetchBearerToken(c, {}, {}, {});
  EXPECT_TRUE(absl::IsUnauthenticated(t.status())) << t.status();
}

}  // namespace
}  // namespace berth::registry
