#include "common/filter.h"

#include <gtest/gtest.h>

#include <map>

namespace berth {
namespace {

struct Obj {
  std::string name;
  std::map<std::string, std::string> labels;
};

Filter::Lookup LookupIn(const Obj& o) {
  return [&o](const std::vector<std::string>& f) -> absl::optional<std::string> {
    if (f.size() == 1 && f[0] == "name") return o.name;
    if (f.size() == 2 && f[0] == "labels") {
      auto it = o.labels.find(f[1]);
      if (it != o.labels.end()) return it->second;
    }
    return absl::nullopt;
  };
}

bool Matches(const std::vector<std::string>& filters, const Obj& o) {
  absl::StatusOr<Filter> f = Filter::Parse(filters);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() && f->Match(LookupIn(o));
}

TEST(Filter, EmptyMatchesEverything) { EXPECT_TRUE(Matches({}, Obj{"x", {}})); }

TEST(Filter, Operators) {
  Obj web{"web-1", {{"tier", "front"}, {"com.example.owner", "ops,team"}}};
  EXPECT_TRUE(Matches({"name==web-1"}, web));
  EXPECT_FALSE(Matches({"name==web"}, web));
  EXPECT_TRUE(Matches({"name!=db"}, web));
  EXPECT_TRUE(Matches({"name~=^web-[0-9]+$"}, web));
  EXPECT_FALSE(Matches({"name~=^db"}, web));
  EXPECT_TRUE(Matches({"labels.tier"}, web));
  EXPECT_FALSE(Matches({"labels.missing"}, web));
  EXPECT_TRUE(Matches({"labels.missing!=x"}, web));
  EXPECT_TRUE(Matches({R"(labels."com.example.owner"=="ops,team")"}, web));
}

TEST(Filter, CommasAreAndEntriesAreOr) {
  Obj web{"web-1", {{"tier", "front"}}};
  EXPECT_TRUE(Matches({"name==web-1,labels.tier==front"}, web));
  EXPECT_FALSE(Matches({"name==web-1,labels.tier==back"}, web));
  EXPECT_TRUE(Matches({"name==db", "labels.tier==front"}, web));
}

TEST(Filter, ErrorsPointAtTheProblem) {
  for (const char* bad : {"==x", "name=x", "name~=(", "labels.\"open", "name==a,"}) {
    absl::StatusOr<Filter> f = Filter::Parse({bad});
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(f.status().message().find("column"), std::string::npos) << f.status();
  }
}

}  // namespace
}  // namespace berth
