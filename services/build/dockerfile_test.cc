#include "services/build/dockerfile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::build {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Dockerfile Parse(const std::string& text) {
  absl::StatusOr<Dockerfile> df = ParseDockerfile(text, "Dockerfile");
  EXPECT_TRUE(df.ok()) << df.status();
  return df.ok() ? *df : Dockerfile{};
}

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<Dockerfile> df = ParseDockerfile(text, "Dockerfile");
  EXPECT_FALSE(df.ok());
  EXPECT_EQ(df.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(df.status().message());
}

TEST(Dockerfile, KeywordsLinesAndForms) {
  Dockerfile df = Parse(
      "# a comment\n"
      "from busybox AS base\n"
      "\n"
      "Run echo hi && \\\n"
      "    echo there\n"
      "CMD [\"sh\", \"-c\", \"echo $HOME\"]\n"
      "ENTRYPOINT echo not json\n");
  ASSERT_EQ(df.instructions.size(), 4u);
  EXPECT_EQ(df.instructions[0].keyword, "FROM");
  EXPECT_EQ(df.instructions[0].line, 2);
  EXPECT_THAT(df.instructions[0].args, ElementsAre("busybox", "AS", "base"));
  EXPECT_EQ(df.instructions[1].keyword, "RUN");
  EXPECT_EQ(df.instructions[1].line, 4);
  EXPECT_FALSE(df.instructions[1].json);
  EXPECT_THAT(df.instructions[1].args, ElementsAre("echo hi &&     echo there"));
  EXPECT_EQ(df.instructions[1].original, "RUN echo hi &&     echo there");
  EXPECT_EQ(df.instructions[2].line, 6);
  EXPECT_TRUE(df.instructions[2].json);
  EXPECT_THAT(df.instructions[2].args, ElementsAre("sh", "-c", "echo $HOME"));
  EXPECT_FALSE(df.instructions[3].json);
  EXPECT_THAT(df.instructions[3].args, ElementsAre("echo not json"));
}

TEST(Dockerfile, ContinuationsSkipCommentsAndBlankLines) {
  Dockerfile df = Parse(
      "FROM scratch\n"
      "RUN a \\\n"
      "# inside\n"
      "\n"
      "  b\n"
      "LABEL x=1\n");
  ASSERT_EQ(df.instructions.size(), 3u);
  EXPECT_THAT(df.instructions[1].args, ElementsAre("a   b"));
  EXPECT_EQ(df.instructions[2].line, 6);
  ASSERT_EQ(df.warnings.size(), 1u);
  EXPECT_THAT(df.warnings[0], HasSubstr("Dockerfile:2: empty continuation line"));
}

TEST(Dockerfile, BrokenJsonIsTheShellForm) {
  Dockerfile df = Parse("FROM scratch\nRUN [\"echo\", oops]\nCMD []\n");
  EXPECT_FALSE(df.instructions[1].json);
  EXPECT_THAT(df.instructions[1].args, ElementsAre("[\"echo\", oops]"));
  EXPECT_TRUE(df.instructions[2].json);
  EXPECT_TRUE(df.instructions[2].args.empty());
}

TEST(Dockerfile, Directives) {
  Dockerfile df = Parse(
      "# syntax=docker/dockerfile:1\n"
      "# escape=`\n"
      "FROM scratch\n"
      "RUN dir c:\\ `\n"
      "  && echo x\n");
  EXPECT_EQ(df.escape, '`');
  EXPECT_EQ(df.syntax, "docker/dockerfile:1");
  EXPECT_THAT(df.instructions[1].args, ElementsAre("dir c:\\   && echo x"));
  // After the first instruction (or any other line) a directive is only a comment.
  Dockerfile late = Parse("FROM scratch\n# escape=`\nRUN a \\\n b\n");
  EXPECT_EQ(late.escape, '\\');
  EXPECT_THAT(late.instructions[1].args, ElementsAre("a  b"));
  EXPECT_THAT(ErrorOf("# escape=`\n# escape=\\\nFROM scratch\n"),
              HasSubstr("Dockerfile:2: only one escape parser directive"));
  EXPECT_THAT(ErrorOf("# escape=x\nFROM scratch\n"), HasSubstr("invalid escape token 'x'"));
}

TEST(Dockerfile, EnvAndLabelForms) {
  Dockerfile df = Parse(
      "FROM scratch\n"
      "ENV A=1 B=\"two words\" C=3\\ 4\n"
      "ENV OLD value with spaces\n"
      "LABEL \"com.example.x\"=yes empty=\n");
  EXPECT_THAT(df.instructions[1].args, ElementsAre("A", "1", "B", "\"two words\"", "C", "3\\ 4"));
  EXPECT_THAT(df.instructions[2].args, ElementsAre("OLD", "value with spaces"));
  EXPECT_THAT(df.instructions[3].args, ElementsAre("\"com.example.x\"", "yes", "empty", ""));
  EXPECT_THAT(ErrorOf("FROM scratch\nENV A=1 B\n"),
              HasSubstr("Dockerfile:2: Syntax error - can't find = in \"B\""));
  EXPECT_THAT(ErrorOf("FROM scratch\nENV ONLY\n"), HasSubstr("ENV must have two arguments"));
  EXPECT_THAT(ErrorOf("FROM scratch\nLABEL\n"), HasSubstr("LABEL requires at least one"));
}

TEST(Dockerfile, FlagsAndCopyForms) {
  Dockerfile df = Parse(
      "FROM --platform=linux/amd64 scratch\n"
      "COPY --from=build --chown=app:app --chmod=0755 a b /dst/\n"
      "ADD [\"with space\", \"/x y\"]\n");
  EXPECT_EQ(df.instructions[0].FindFlag("platform")->value, "linux/amd64");
  const Instruction& copy = df.instructions[1];
  ASSERT_EQ(copy.flags.size(), 3u);
  EXPECT_EQ(copy.FindFlag("from")->value, "build");
  EXPECT_EQ(copy.FindFlag("chown")->value, "app:app");
  EXPECT_EQ(copy.FindFlag("chmod")->value, "0755");
  EXPECT_THAT(copy.args, ElementsAre("a", "b", "/dst/"));
  EXPECT_TRUE(df.instructions[2].json);
  EXPECT_THAT(df.instructions[2].args, ElementsAre("with space", "/x y"));
  EXPECT_THAT(ErrorOf("FROM scratch\nCOPY --frm=x a b\n"),
              HasSubstr("Dockerfile:2: unknown flag: --frm"));
  EXPECT_THAT(ErrorOf("FROM scratch\nENV --x=1 A=b\n"), HasSubstr("ENV takes no flags"));
  EXPECT_THAT(ErrorOf("FROM scratch\nCOPY onlyone\n"), HasSubstr("requires at least two"));
}

TEST(Dockerfile, UnknownInstructionNamesTheLine) {
  EXPECT_EQ(ErrorOf("FROM scratch\n\nFORM busybox\n"),
            "Dockerfile:3: unknown instruction: FORM (did you mean FROM?)");
  EXPECT_EQ(ErrorOf("FROM scratch\nFLY away\n"), "Dockerfile:2: unknown instruction: FLY");
}

TEST(Dockerfile, HealthcheckOnbuildAndSingleWordInstructions) {
  Dockerfile df = Parse(
      "FROM scratch\n"
      "HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://x/ || exit 1\n"
      "HEALTHCHECK NONE\n"
      "HEALTHCHECK CMD [\"/bin/check\", \"-q\"]\n"
      "ONBUILD RUN echo triggered\n"
      "WORKDIR /some dir\n"
      "USER app:staff\n"
      "SHELL [\"/bin/bash\", \"-c\"]\n"
      "EXPOSE 80 443/udp\n"
      "VOLUME /a /b\n"
      "STOPSIGNAL SIGINT\n"
      "ARG A=1 B\n");
  const auto& in = df.instructions;
  EXPECT_THAT(in[1].args, ElementsAre("CMD", "curl -f http://x/ || exit 1"));
  EXPECT_EQ(in[1].FindFlag("interval")->value, "5s");
  EXPECT_THAT(in[2].args, ElementsAre("NONE"));
  EXPECT_TRUE(in[3].json);
  EXPECT_THAT(in[3].args, ElementsAre("CMD", "/bin/check", "-q"));
  EXPECT_THAT(in[4].args, ElementsAre("RUN echo triggered"));
  EXPECT_THAT(in[5].args, ElementsAre("/some dir"));
  EXPECT_THAT(in[6].args, ElementsAre("app:staff"));
  EXPECT_THAT(in[7].args, ElementsAre("/bin/bash", "-c"));
  EXPECT_THAT(in[8].args, ElementsAre("80", "443/udp"));
  EXPECT_THAT(in[9].args, ElementsAre("/a", "/b"));
  EXPECT_THAT(in[10].args, ElementsAre("SIGINT"));
  EXPECT_THAT(in[11].args, ElementsAre("A=1", "B"));
  EXPECT_THAT(ErrorOf("FROM scratch\nONBUILD ONBUILD RUN x\n"), HasSubstr("Chaining ONBUILD"));
  EXPECT_THAT(ErrorOf("FROM scratch\nONBUILD FROM x\n"), HasSubstr("FROM isn't allowed"));
  EXPECT_THAT(ErrorOf("FROM scratch\nONBUILD FRM x\n"), HasSubstr("unknown instruction: FRM"));
  EXPECT_THAT(ErrorOf("FROM scratch\nSHELL /bin/sh -c\n"), HasSubstr("JSON form"));
  EXPECT_THAT(ErrorOf("FROM scratch\nUSER a b\n"), HasSubstr("exactly one argument"));
  EXPECT_THAT(ErrorOf("FROM scratch\nHEALTHCHECK PING x\n"), HasSubstr("Unknown type"));
}

TEST(Dockerfile, EmptyFilesAndCarriageReturns) {
  EXPECT_THAT(ErrorOf("# only a comment\n\n"), HasSubstr("no instructions"));
  Dockerfile df = Parse(
      "\xEF\xBB\xBF"
      "FROM scratch\r\nCMD [\"a\"]\r\n");
  ASSERT_EQ(df.instructions.size(), 2u);
  EXPECT_THAT(df.instructions[1].args, ElementsAre("a"));
}

TEST(Dockerfile, Heredocs) {
  Dockerfile df = Parse(
      "FROM scratch\n"
      "RUN <<EOF\n"
      "echo one\n"
      "echo two\n"
      "EOF\n"
      "COPY <<-\"A\" <<B /dst/\n"
      "\tindented $X\n"
      "\tA\n"
      "b\n"
      "B\n"
      "RUN cat <<<here-string\n"
      "CMD [\"x\"]\n");
  ASSERT_EQ(df.instructions.size(), 5u);
  const Instruction& run = df.instructions[1];
  ASSERT_EQ(run.heredocs.size(), 1u);
  EXPECT_EQ(run.heredocs[0].name, "EOF");
  EXPECT_EQ(run.heredocs[0].content, "echo one\necho two\n");
  EXPECT_EQ(run.FindHeredoc("<<EOF"), &run.heredocs[0]);
  const Instruction& copy = df.instructions[2];
  EXPECT_EQ(copy.line, 6);
  ASSERT_EQ(copy.heredocs.size(), 2u);
  EXPECT_EQ(copy.heredocs[0].content, "indented $X\n");
  EXPECT_FALSE(copy.heredocs[0].expand);
  EXPECT_EQ(copy.heredocs[1].content, "b\n");
  EXPECT_EQ(copy.FindHeredoc("<<-\"A\""), &copy.heredocs[0]);
  EXPECT_THAT(copy.args, ElementsAre("<<-\"A\"", "<<B", "/dst/"));
  EXPECT_TRUE(df.instructions[3].heredocs.empty());
  EXPECT_EQ(df.instructions[4].line, 12);
  EXPECT_THAT(ErrorOf("FROM scratch\nRUN <<EOF\necho\n"),
              HasSubstr("Dockerfile:2: unterminated heredoc <<EOF"));
}

TEST(SplitWords, QuotesAndEscapesStay) {
  EXPECT_THAT(SplitWords("a  \"b c\" 'd e'f g\\ h", '\\'),
              ElementsAre("a", "\"b c\"", "'d e'f", "g\\ h"));
  EXPECT_THAT(SplitWords("x=\"\" y=''", '\\'), ElementsAre("x=\"\"", "y=''"));
  EXPECT_THAT(SplitWords("   ", '\\'), ElementsAre());
}

}  // namespace
}  // namespace berth::build
