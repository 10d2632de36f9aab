#include "common/log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/syscall.h"

namespace berth {
namespace {

TEST(Log, RejectsUnknownLevelAndFormat) {
  EXPECT_EQ(ValidateLogOptions({.level = "loud"}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLogOptions({.format = "xml"}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateLogOptions({.level = "debug", .format = "json"}).ok());
}

TEST(Log, JsonEscape) { EXPECT_EQ(JsonEscape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001"); }

TEST(Log, JsonLinesCarryTimeLevelAndMessage) {
  std::string file = std::string(getenv("TEST_TMPDIR")) + "/log.json";
  ASSERT_TRUE(InitLogging({.level = "info", .format = "json", .file = file}).ok());
  spdlog::debug("hidden");
  spdlog::error("container \"{}\" failed", "c1");
  spdlog::default_logger()->flush();
  absl::StatusOr<std::string> text = sys::ReadFile(file);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->find("hidden"), std::string::npos);
  EXPECT_NE(text->find(R"("level":"error","msg":"container \"c1\" failed"})"), std::string::npos)
      << *text;
  EXPECT_NE(text->find(R"({"time":")"), std::string::npos);
}

}  // namespace
}  // namespace berth
