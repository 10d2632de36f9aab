#include "runtime/cli/flags.h"

#include <gtest/gtest.h>

namespace berth::runtime::cli {
namespace {

const std::vector<FlagSpec> kSpecs = {
    {{"bundle", "b"}, true, false, ""},
    {{"detach", "d"}, false, false, ""},
    {{"env", "e"}, true, true, ""},
};

TEST(Flags, RuncDialect) {
  std::vector<std::string> args = {"-bundle",   "/b", "--detach", "-e", "A=1",
                                   "--env=B=2", "id", "sh",       "-c", "x"};
  size_t pos = 0;
  absl::StatusOr<Flags> f = ParseFlags(kSpecs, args, &pos, true);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->Get("bundle"), "/b");
  EXPECT_EQ(f->Get("b"), "/b");
  EXPECT_TRUE(*f->GetBool("detach"));
  EXPECT_EQ(f->GetAll("env"), (std::vector<std::string>{"A=1", "B=2"}));
  // Flag parsing stops at the first positional: "-c" belongs to the program.
  EXPECT_EQ(f->positional, (std::vector<std::string>{"id", "sh", "-c", "x"}));
}

TEST(Flags, Errors) {
  size_t pos = 0;
  EXPECT_NE(
      ParseFlags(kSpecs, {"--nope"}, &pos, true).status().message().find("unknown flag --nope"),
      std::string::npos);
  pos = 0;
  EXPECT_NE(ParseFlags(kSpecs, {"--bundle"}, &pos, true).status().message().find("needs a value"),
            std::string::npos);
  pos = 0;
  absl::StatusOr<Flags> f = ParseFlags(kSpecs, {"--detach=maybe"}, &pos, true);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->GetBool("detach").ok());
}

TEST(Flags, GlobalFlagsStopAtTheCommand) {
  size_t pos = 0;
  absl::StatusOr<Flags> f =
      ParseFlags(kSpecs, {"--bundle", "x", "create", "--detach"}, &pos, false);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(pos, 2u);
  EXPECT_TRUE(f->positional.empty());
}

}  // namespace
}  // namespace berth::runtime::cli
