#include "ctl/container/env.h"

#include <gtest/gtest.h>

#include <map>

namespace berth::ctl {
namespace {

using Env = std::vector<std::string>;

EnvLookup Fake(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> absl::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return absl::nullopt;
    return it->second;
  };
}

TEST(ResolveEnvFlag, ValuesAndTheCallersEnvironment) {
  const EnvLookup env = Fake({{"HOME", "/home/me"}, {"EMPTY", ""}});
  EXPECT_EQ(*ResolveEnvFlag("A=1", env), "A=1");
  EXPECT_EQ(*ResolveEnvFlag("A=", env), "A=");
  EXPECT_EQ(*ResolveEnvFlag("A=b=c", env), "A=b=c");
  EXPECT_EQ(*ResolveEnvFlag("HOME", env), "HOME=/home/me");
  EXPECT_EQ(*ResolveEnvFlag("EMPTY", env), "EMPTY=");
  EXPECT_EQ(*ResolveEnvFlag("UNSET", env), "UNSET");
  EXPECT_EQ(ResolveEnvFlag("=x", env).status().message(), "invalid environment variable: =x");
  EXPECT_FALSE(ResolveEnvFlag("", env).ok());
}

TEST(ParseEnvFile, DockerRules) {
  const EnvLookup env = Fake({{"FROM_HOST", "yes"}});
  absl::StatusOr<Env> lines = ParseEnvFile("f",
                                           "\xEF\xBB\xBF"
                                           "A=1\n"
                                           "# a comment\n"
                                           "\n"
                                           "   \n"
                                           "  B=  spaced value  \n"
                                           "C=x=y\n"
                                           "FROM_HOST\n"
                                           "NOT_ON_HOST\n"
                                           "\tD=tab\n"
                                           "E=\n",
                                           env);
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_EQ(*lines, Env({"A=1", "B=  spaced value  ", "C=x=y", "FROM_HOST=yes", "D=tab", "E="}));
}

TEST(ParseEnvFile, Errors) {
  const EnvLookup env = Fake({});
  EXPECT_EQ(ParseEnvFile("f", "A B=1\n", env).status().message(),
            "poorly formatted environment: variable 'A B' contains whitespaces");
  EXPECT_EQ(ParseEnvFile("f", "A \n", env).status().message(),
            "poorly formatted environment: variable 'A ' contains whitespaces");
  EXPECT_EQ(ParseEnvFile("f", "=1\n", env).status().message(),
            "poorly formatted environment: no variable name on line '=1'");
  EXPECT_EQ(ParseEnvFile("my.env", "A=1\nB=\xff\n", env).status().message(),
            "env file my.env contains invalid utf8 bytes at line 2");
}

TEST(ReadEnvFile, MissingFileNamesIt) {
  absl::StatusOr<Env> lines = ReadEnvFile("/nonexistent/berth.env", Fake({}));
  ASSERT_FALSE(lines.ok());
  EXPECT_NE(lines.status().message().find("/nonexistent/berth.env"), absl::string_view::npos);
}

TEST(MergeEnv, ReplaceAppendAndUnset) {
  EXPECT_EQ(MergeEnv({"PATH=/bin", "HOSTNAME=h"}, {"A=1", "PATH=/usr/bin"}),
            Env({"PATH=/usr/bin", "HOSTNAME=h", "A=1"}));
  EXPECT_EQ(MergeEnv({"PATH=/bin", "TERM=xterm", "X=1"}, {"TERM"}), Env({"PATH=/bin", "X=1"}));
  EXPECT_EQ(MergeEnv({"A=1"}, {"B=1", "B=2"}), Env({"A=1", "B=2"}));
  EXPECT_EQ(MergeEnv({"A=1"}, {"A", "A=3"}), Env({"A=3"}));
  EXPECT_EQ(MergeEnv({"a=1"}, {"A=2"}), Env({"a=1", "A=2"}));
  EXPECT_EQ(MergeEnv({}, {"NOPE"}), Env({}));
}

TEST(HasEnv, ByKey) {
  EXPECT_TRUE(HasEnv({"HOME=/root"}, "HOME"));
  EXPECT_FALSE(HasEnv({"HOMEDIR=/root"}, "HOME"));
  EXPECT_FALSE(HasEnv({}, "HOME"));
}

}  // namespace
}  // namespace berth::ctl
