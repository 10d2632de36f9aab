#include "services/build/shell_lex.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::build {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::map<std::string, std::string>& Vars() {
  static const auto* v = new std::map<std::string, std::string>{
      {"HOME", "/root"}, {"EMPTY", ""}, {"WORDS", "a b  c"}, {"X", "x"}};
  return *v;
}

std::string E(const std::string& w, char escape = '\\') {
  absl::StatusOr<std::string> r = ExpandWord(w, MapLookup(Vars()), escape);
  EXPECT_TRUE(r.ok()) << w << ": " << r.status();
  return r.value_or("<error>");
}

TEST(ShellLex, Variables) {
  EXPECT_EQ(E("$HOME/bin"), "/root/bin");
  EXPECT_EQ(E("${HOME}bin"), "/rootbin");
  EXPECT_EQ(E("$UNSET."), ".");
  EXPECT_EQ(E("a$"), "a$");
  EXPECT_EQ(E("$1x"), "x");
  EXPECT_EQ(E("cost: 5$ each"), "cost: 5$ each");
}

TEST(ShellLex, Modifiers) {
  EXPECT_EQ(E("${UNSET:-def}"), "def");
  EXPECT_EQ(E("${EMPTY:-def}"), "def");
  EXPECT_EQ(E("${EMPTY-def}"), "");
  EXPECT_EQ(E("${UNSET-def}"), "def");
  EXPECT_EQ(E("${X:-def}"), "x");
  EXPECT_EQ(E("${X:+alt}"), "alt");
  EXPECT_EQ(E("${EMPTY:+alt}"), "");
  EXPECT_EQ(E("${EMPTY+alt}"), "alt");
  EXPECT_EQ(E("${UNSET:+alt}"), "");
  EXPECT_EQ(E("${UNSET:-$HOME/x}"), "/root/x");
  EXPECT_EQ(E("${X:?must be set}"), "x");
  absl::StatusOr<std::string> r = ExpandWord("${UNSET:?must be set}", MapLookup(Vars()));
  EXPECT_THAT(r.status().message(), HasSubstr("UNSET: must be set"));
  r = ExpandWord("${X%%y}", MapLookup(Vars()));
  EXPECT_THAT(r.status().message(), HasSubstr("unsupported modifier"));
  r = ExpandWord("${X", MapLookup(Vars()));
  EXPECT_FALSE(r.ok());
}

TEST(ShellLex, QuotesAndEscapes) {
  EXPECT_EQ(E("'$HOME'"), "$HOME");
  EXPECT_EQ(E("\"$HOME\""), "/root");
  EXPECT_EQ(E("\"a \\\"q\\\" \\$HOME \\n\""), "a \"q\" $HOME \\n");
  EXPECT_EQ(E("\\$HOME"), "$HOME");
  EXPECT_EQ(E("two\\ words"), "two words");
  EXPECT_EQ(E("`$HOME", '`'), "$HOME");
  EXPECT_EQ(E("c:\\dir", '`'), "c:\\dir");
  EXPECT_FALSE(ExpandWord("'open", MapLookup(Vars())).ok());
  EXPECT_FALSE(ExpandWord("\"open", MapLookup(Vars())).ok());
}

TEST(ShellLex, WordsSplitUnquotedWhitespaceOnly) {
  absl::StatusOr<std::vector<std::string>> w =
      ExpandWords("$WORDS \"$WORDS\" d", MapLookup(Vars()));
  ASSERT_TRUE(w.ok());
  EXPECT_THAT(*w, ElementsAre("a", "b", "c", "a b  c", "d"));
}

TEST(ShellLex, ReferencedNames) {
  EXPECT_THAT(ReferencedNames("$A ${B:-$C} '$D'"), ElementsAre("A", "C", "B"));
}

}  // namespace
}  // namespace berth::build
