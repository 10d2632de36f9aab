#include "ctl/container/names.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace berth::ctl {
namespace {

TEST(ContainerId, SixtyFourLowercaseHexAndNotANumberWhenShort) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<std::string> id = NewContainerId();
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_TRUE(IsContainerId(*id)) << *id;
    EXPECT_EQ(ShortContainerId(*id).size(), 12u);
    EXPECT_NE(ShortContainerId(*id).find_first_not_of("0123456789"), std::string::npos);
    seen.insert(*id);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(ContainerId, IsContainerId) {
  EXPECT_TRUE(IsContainerId(std::string(64, 'a')));
  EXPECT_TRUE(IsContainerId(std::string(32, '0') + std::string(32, 'f')));
  EXPECT_FALSE(IsContainerId(std::string(63, 'a')));
  EXPECT_FALSE(IsContainerId(std::string(65, 'a')));
  EXPECT_FALSE(IsContainerId(std::string(64, 'A')));
  EXPECT_FALSE(IsContainerId(std::string(64, 'g')));
  EXPECT_EQ(ShortContainerId("0123456789abcdef"), "0123456789ab");
  EXPECT_EQ(ShortContainerId("abc"), "abc");
}

TEST(GenerateName, AdjectiveUnderscoreSurname) {
  EXPECT_GE(NameAdjectiveCount(), 50u);
  EXPECT_GE(NameSurnameCount(), 50u);
  std::set<std::string> names;
  const uint64_t combos = NameAdjectiveCount() * NameSurnameCount();
  for (uint64_t r = 0; r < combos; ++r) {
    std::string name = GenerateName(r);
    ASSERT_EQ(std::count(name.begin(), name.end(), '_'), 1) << name;
    ASSERT_TRUE(ValidateName(name).ok()) << name;
    names.insert(name);
  }
  // Every adjective with every surname, no two alike.
  EXPECT_EQ(names.size(), combos);
}

TEST(GenerateName, RetryAppendsADigit) {
  const std::string base = GenerateName(12345);
  const std::string retried = GenerateName(12345, 1);
  ASSERT_EQ(retried.size(), base.size() + 1);
  EXPECT_EQ(retried.substr(0, base.size()), base);
  EXPECT_TRUE(isdigit(static_cast<unsigned char>(retried.back())));
  absl::StatusOr<std::string> random = RandomName();
  ASSERT_TRUE(random.ok());
  EXPECT_TRUE(ValidateName(*random).ok());
}

TEST(ValidateName, DockerRule) {
  EXPECT_EQ(*ValidateName("web"), "web");
  EXPECT_EQ(*ValidateName("/web"), "web");
  EXPECT_EQ(*ValidateName("a1"), "a1");
  EXPECT_EQ(*ValidateName("my_app.v2-1"), "my_app.v2-1");
  EXPECT_EQ(*ValidateName("9lives"), "9lives");
  for (const char* bad : {"", "a", "/", "_web", ".web", "-web", "web app", "web/x", "wéb"}) {
    EXPECT_FALSE(ValidateName(bad).ok()) << bad;
  }
  EXPECT_EQ(ValidateName("_x").status().message(),
            "Invalid container name (_x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
}

}  // namespace
}  // namespace berth::ctl
