// Variable substitution in Dockerfile words, as BuildKit's shell lexer does it for ADD, COPY,
// ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, ARG and ONBUILD: `$VAR`,
// `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`,
// `${VAR:?message}`, `${VAR?message}`; single quotes are literal, double quotes allow
// substitution, the escape character makes the next character literal, and the quotes and
// escapes themselves are removed.
#ifndef BERTH_SERVICES_BUILD_SHELL_LEX_H_
#define BERTH_SERVICES_BUILD_SHELL_LEX_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace berth::build {

// The value of a variable, or nullopt when it is not set.
using VarLookup = std::function<absl::optional<std::string>(const std::string& name)>;

// A lookup over a map.
VarLookup MapLookup(const std::map<std::string, std::string>& vars);

// INVALID_ARGUMENT for an unterminated quote or `${`, a bad modifier, or `${VAR:?msg}` with
// VAR unset.
absl::StatusOr<std::string> ExpandWord(absl::string_view word, const VarLookup& vars,
                                       char escape = '\\');

// Expands, then splits on unquoted whitespace (EXPOSE $PORTS with PORTS="80 443").
absl::StatusOr<std::vector<std::string>> ExpandWords(absl::string_view word, const VarLookup& vars,
                                                     char escape = '\\');

// The names a word refers to (for deciding which build args were used).
std::vector<std::string> ReferencedNames(absl::string_view word, char escape = '\\');

}  // namespace berth::build

#endif  // BERTH_SERVICES_BUILD_SHELL_LEX_H_
