#include "common/path.h"

#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace berth::path {

bool IsAbsolute(absl::string_view p) { return !p.empty() && p.front() == '/'; }

std::string Clean(absl::string_view p) {
  const bool abs = IsAbsolute(p);
  std::vector<absl::string_view> out;
  for (absl::string_view part : absl::StrSplit(p, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty() && out.back() != "..") {
        out.pop_back();
      } else if (!abs) {
        out.push_back(part);
      }
      continue;
    }
    out.push_back(part);
  }
  std::string joined = absl::StrJoin(out, "/");
  if (abs) return "/" + joined;
  return joined.empty() ? "." : joined;
}

std::string Join(absl::string_view a, absl::string_view b) {
  if (a.empty()) return Clean(b);
  // Clean b as if it were absolute first, so ".." in it cannot climb out of a.
  std::string rel = Clean(std::string("/") + std::string(b.data(), b.size()));
  return Clean(std::string(a.data(), a.size()) + rel);
}

std::string Dir(absl::string_view p) {
  std::string c = Clean(p);
  size_t slash = c.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return c.substr(0, slash);
}

std::string Base(absl::string_view p) {
  std::string c = Clean(p);
  if (c == "/") return c;
  size_t slash = c.rfind('/');
  return slash == std::string::npos ? c : c.substr(slash + 1);
}

bool IsWithin(absl::string_view root, absl::string_view p) {
  std::string r = Clean(root);
  std::string c = Clean(p);
  if (r == "/") return IsAbsolute(c);
  return c == r || (c.size() > r.size() && c.compare(0, r.size(), r) == 0 && c[r.size()] == '/');
}

}  // namespace berth::path
