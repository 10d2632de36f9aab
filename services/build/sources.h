// COPY and ADD sources: which paths a source pattern names in a tree (the build context, or
// another stage's root), and a digest of their contents for the build cache. Every path is
// resolved inside the tree (openat2 RESOLVE_IN_ROOT), so a symlink in the context cannot lead
// a build to the daemon's files.
#ifndef BERTH_SERVICES_BUILD_SOURCES_H_
#define BERTH_SERVICES_BUILD_SOURCES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::build {

// True when the pattern has glob characters (* ? [).
bool HasGlob(absl::string_view pattern);

// The paths (relative to the tree's top, cleaned, sorted; "." for the top itself) that
// `pattern` names. Patterns are Go's filepath.Match per path component, as Docker's. A
// pattern that climbs out of the tree ("../x") is INVALID_ARGUMENT ("forbidden path outside
// the build context"); one that matches nothing is NOT_FOUND.
absl::StatusOr<std::vector<std::string>> MatchSources(int root_fd, const std::string& pattern,
                                                      absl::string_view tree_name);

// "sha256:…" over the files at `paths`, recursively: names, types, permission bits, sizes,
// contents and link targets (owners and times are left out, as Docker's cache key does).
absl::StatusOr<std::string> HashSources(int root_fd, const std::vector<std::string>& paths);

}  // namespace berth::build

#endif  // BERTH_SERVICES_BUILD_SOURCES_H_
