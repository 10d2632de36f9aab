#include "services/build/stages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::build {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Plan MakeOk(const std::string& text) {
  absl::StatusOr<Dockerfile> df = ParseDockerfile(text, "Dockerfile");
  EXPECT_TRUE(df.ok()) << df.status();
  absl::StatusOr<Plan> p = MakePlan(*df, "Dockerfile");
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : Plan{};
}

std::string PlanError(const std::string& text) {
  absl::StatusOr<Dockerfile> df = ParseDockerfile(text, "Dockerfile");
  EXPECT_TRUE(df.ok()) << df.status();
  absl::StatusOr<Plan> p = MakePlan(*df, "Dockerfile");
  EXPECT_FALSE(p.ok());
  return std::string(p.status().message());
}

const char kMulti[] =
    "ARG BASE=scratch\n"
    "ARG TAG\n"
    "FROM ${BASE} AS Builder\n"
    "RUN make\n"
    "FROM scratch AS unused\n"
    "RUN nothing\n"
    "FROM scratch AS tools\n"
    "FROM builder AS second\n"
    "COPY --from=0 /a /a\n"
    "COPY --from=tools /t /t\n"
    "FROM scratch\n"
    "COPY --from=second /x /x\n";

TEST(Stages, SplitsAndNames) {
  Plan p = MakeOk(kMulti);
  ASSERT_EQ(p.global_args.size(), 2u);
  ASSERT_EQ(p.stages.size(), 5u);
  EXPECT_EQ(p.stages[0].name, "builder");  // lower case
  EXPECT_EQ(p.stages[0].base, "${BASE}");
  EXPECT_EQ(p.stages[0].steps.size(), 1u);
  EXPECT_EQ(p.stages[4].name, "");
  EXPECT_EQ(p.stages[4].Label(), "4");
}

TEST(Stages, GlobalArgsTakeBuildArgsThenDefaults) {
  Plan p = MakeOk(kMulti);
  absl::StatusOr<std::map<std::string, std::string>> g = GlobalArgs(p, {}, '\\', "Dockerfile");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->at("BASE"), "scratch");
  EXPECT_EQ(g->count("TAG"), 0u);
  g = GlobalArgs(p, {{"BASE", "busybox"}, {"TAG", "1"}}, '\\', "Dockerfile");
  EXPECT_EQ(g->at("BASE"), "busybox");
  EXPECT_EQ(g->at("TAG"), "1");
}

TEST(Stages, TargetsAndNeededStages) {
  Plan p = MakeOk(kMulti);
  std::map<std::string, std::string> global = {{"BASE", "scratch"}};
  absl::StatusOr<int> last = FindTarget(p, "");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 4);
  // "unused" is never built; "second" needs builder (FROM), 0 and tools (COPY --from).
  absl::StatusOr<std::vector<int>> need = NeededStages(p, *last, global, '\\', "Dockerfile");
  ASSERT_TRUE(need.ok()) << need.status();
  EXPECT_THAT(*need, ElementsAre(0, 2, 3, 4));
  absl::StatusOr<int> t = FindTarget(p, "TOOLS");
  ASSERT_TRUE(t.ok());
  EXPECT_THAT(*NeededStages(p, *t, global, '\\', "Dockerfile"), ElementsAre(2));
  EXPECT_EQ(FindTarget(p, "nope").status().message(), "target stage \"nope\" could not be found");
}

TEST(Stages, StageRefs) {
  Plan p = MakeOk(kMulti);
  EXPECT_EQ(StageRef(p, "builder", 3, false), 0);
  EXPECT_EQ(StageRef(p, "BUILDER", 3, false), 0);
  EXPECT_EQ(StageRef(p, "second", 3, false), absl::nullopt);  // not earlier
  EXPECT_EQ(StageRef(p, "1", 3, true), 1);
  EXPECT_EQ(StageRef(p, "1", 3, false), absl::nullopt);
  EXPECT_EQ(StageRef(p, "busybox", 3, true), absl::nullopt);
}

TEST(Stages, Errors) {
  EXPECT_THAT(PlanError("RUN x\nFROM scratch\n"), HasSubstr("Dockerfile:1: no build stage"));
  EXPECT_THAT(PlanError("FROM scratch AS a\nFROM scratch AS a\n"),
              HasSubstr("Dockerfile:2: duplicate stage name \"a\""));
  EXPECT_THAT(PlanError("FROM scratch AS 1st\n"), HasSubstr("invalid name for build stage"));
  EXPECT_THAT(PlanError("FROM scratch AS\n"), HasSubstr("one or three arguments"));
  EXPECT_THAT(PlanError("ARG A\n"), HasSubstr("no FROM"));
  Plan p = MakeOk("FROM scratch\nCOPY --from=3 /a /a\n");
  absl::StatusOr<std::vector<int>> need = NeededStages(p, 0, {}, '\\', "Dockerfile");
  EXPECT_THAT(need.status().message(), HasSubstr("Dockerfile:2: COPY --from=3"));
}

}  // namespace
}  // namespace berth::build
