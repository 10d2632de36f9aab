// The container's environment, as Docker builds it: `-e`, `--env-file`, the image's ENV and
// the daemon's defaults (PATH, HOSTNAME, TERM), merged key by key.
#ifndef BERTH_CTL_CONTAINER_ENV_H_
#define BERTH_CTL_CONTAINER_ENV_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace berth::ctl {

inline constexpr char kDefaultPath[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Looks a variable up in the caller's environment (`-e K`, a bare K in an env file).
using EnvLookup = std::function<absl::optional<std::string>(const std::string&)>;

// getenv(3) of this process.
EnvLookup ProcessEnvironment();

// One `-e` value: "K=V" stays; "K" becomes "K=<value>" when the caller's environment has K,
// and stays "K" otherwise, which MergeEnv reads as "unset K" (so `-e K` with K unset here
// removes the image's K, as in Docker). INVALID_ARGUMENT for an empty name ("=x").
absl::StatusOr<std::string> ResolveEnvFlag(absl::string_view flag, const EnvLookup& lookup);

// The lines of an --env-file, with Docker's rules: leading whitespace and a UTF-8 BOM
// dropped, blank lines and "#" lines skipped, values kept verbatim after the first "="; a
// bare name takes the caller's value and is dropped when the caller has none. `name` is the
// file's name for messages ("poorly formatted environment: variable 'A B' contains
// whitespaces", "env file x contains invalid utf8 bytes at line 3").
absl::StatusOr<std::vector<std::string>> ParseEnvFile(absl::string_view name,
                                                      absl::string_view content,
                                                      const EnvLookup& lookup);

// Reads and parses an --env-file.
absl::StatusOr<std::vector<std::string>> ReadEnvFile(const std::string& path,
                                                     const EnvLookup& lookup);

// Docker's ReplaceOrAppendEnvValues: each override "K=V" replaces base's K in place or is
// appended; a bare "K" removes K. Keys are case-sensitive.
std::vector<std::string> MergeEnv(std::vector<std::string> base,
                                  const std::vector<std::string>& overrides);

// Whether `env` sets `key`.
bool HasEnv(const std::vector<std::string>& env, absl::string_view key);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_ENV_H_
