// Lexical path helpers. None of them touch the filesystem or follow symlinks; code that must
// stay inside a root against symlinks resolves paths with openat2(RESOLVE_IN_ROOT) instead.
#ifndef BERTH_COMMON_PATH_H_
#define BERTH_COMMON_PATH_H_

#include <string>

#include "absl/strings/string_view.h"

namespace berth::path {

bool IsAbsolute(absl::string_view p);
// Collapses "//", "." and ".." lexically; "" becomes ".". A leading ".." that would climb
// above "/" is dropped for absolute paths and kept for relative ones.
std::string Clean(absl::string_view p);
// Joins with one "/" and cleans. An absolute `b` does not replace `a` (unlike Python): the
// result is always under `a`, lexically.
std::string Join(absl::string_view a, absl::string_view b);
// The directory part of a cleaned path: Dir("/a/b") == "/a", Dir("/a") == "/", Dir("a") == ".".
std::string Dir(absl::string_view p);
// The last element: Base("/a/b") == "b", Base("/") == "/".
std::string Base(absl::string_view p);
// True when cleaned `p` is `root` or lies below it.
bool IsWithin(absl::string_view root, absl::string_view p);

}  // namespace berth::path

#endif  // BERTH_COMMON_PATH_H_
