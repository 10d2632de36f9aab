// The Dockerfile parser: text → instructions with their line numbers, as BuildKit's parser
// reads it. Parser directives (`# syntax=`, `# escape=`) at the top, comments, line
// continuations with the escape character (blank and comment lines inside a continuation are
// skipped), case-insensitive keywords, `--flag=value` options, and the JSON (exec) form of the
// instructions that have one. Variables are not expanded here (shell_lex.h does that when
// the build runs, with the values of that moment).
#ifndef BERTH_SERVICES_BUILD_DOCKERFILE_H_
#define BERTH_SERVICES_BUILD_DOCKERFILE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::build {

struct Instruction {
  std::string keyword;   // upper case: "RUN"
  std::string original;  // "RUN apt-get update" (continuations joined, keyword upper case)
  int line = 0;          // first line, 1-based
  // Leading --name=value options in order; a bare --name has value "" and `flag_has_value`
  // false.
  struct Flag {
    std::string name;
    std::string value;
    bool has_value = false;
  };
  std::vector<Flag> flags;
  // The arguments:
  //  - json (RUN, CMD, ENTRYPOINT, SHELL, COPY, ADD, VOLUME, HEALTHCHECK CMD): the strings;
  //  - shell form of RUN, CMD, ENTRYPOINT: one element, the command text;
  //  - HEALTHCHECK: "NONE", or "CMD" followed by the command as above;
  //  - ENV, LABEL: name, value, name, value… (raw words: quotes and escapes kept);
  //  - WORKDIR, USER, STOPSIGNAL, MAINTAINER, ONBUILD: one element, the rest of the line;
  //  - anything else: the words of the line (raw).
  bool json = false;
  std::vector<std::string> args;
  // Heredocs (RUN, COPY, ADD in the shell form): `<<EOF`, `<<-EOF` (leading tabs stripped),
  // `<<"EOF"` (quoted: no substitution), each followed in the file by its lines up to EOF.
  struct Heredoc {
    std::string name;
    std::string content;  // every line with its "\n"
    bool expand = true;
  };
  std::vector<Heredoc> heredocs;
  // The heredoc a word such as "<<EOF" or "<<-'EOF'" names, or null.
  const Heredoc* FindHeredoc(absl::string_view word) const;

  // The first flag named `name`, or null.
  const Flag* FindFlag(absl::string_view name) const;
};

struct Dockerfile {
  char escape = '\\';
  std::string syntax;  // the `# syntax=` directive, if any (recorded, not acted on)
  std::vector<Instruction> instructions;
  std::vector<std::string> warnings;  // "Dockerfile:3: empty continuation line"
};

// `name` prefixes every error and warning: "Dockerfile:7: unknown instruction: FORM".
// Errors are INVALID_ARGUMENT.
absl::StatusOr<Dockerfile> ParseDockerfile(absl::string_view text, absl::string_view name);

// Parses one instruction line (ONBUILD triggers, which are stored as text): `line` is the
// line number reported in errors.
absl::StatusOr<Instruction> ParseInstruction(absl::string_view text, int line, char escape,
                                             absl::string_view name);

// Splits on unquoted whitespace, keeping quotes and escapes in the words (BuildKit's
// parseWords), for the expansion step to remove.
std::vector<std::string> SplitWords(absl::string_view text, char escape);

// The instructions berth knows, upper case.
bool IsKnownInstruction(absl::string_view keyword);

}  // namespace berth::build

#endif  // BERTH_SERVICES_BUILD_DOCKERFILE_H_
