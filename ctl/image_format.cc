#include "ctl/image_format.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace berth::ctl {

std::string HumanSize(int64_t bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double size = static_cast<double>(bytes);
  size_t i = 0;
  while (size >= 1000.0 && i + 1 < sizeof(kUnits) / sizeof(kUnits[0])) {
    size /= 1000.0;
    ++i;
  }
  return absl::StrFormat("%.3g%s", size, kUnits[i]);
}

std::string HumanDuration(absl::Duration d) {
  const int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return absl::StrCat(seconds, " seconds");
  const int64_t minutes = absl::ToInt64Minutes(d);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return absl::StrCat(minutes, " minutes");
  const int64_t hours = static_cast<int64_t>(absl::ToDoubleHours(d) + 0.5);
  if (hours == 1) return "About an hour";
  if (hours < 48) return absl::StrCat(hours, " hours");
  if (hours < 24 * 7 * 2) return absl::StrCat(hours / 24, " days");
  if (hours < 24 * 30 * 2) return absl::StrCat(hours / 24 / 7, " weeks");
  if (hours < 24 * 365 * 2) return absl::StrCat(hours / 24 / 30, " months");
  return absl::StrCat(absl::ToInt64Hours(d) / 24 / 365, " years");
}

bool IsDangling(const std::string& name) {
  return absl::StartsWith(name, "berth.invalid/dangling@");
}

RepoTag SplitName(const std::string& name) {
  RepoTag out;
  if (IsDangling(name)) {
    out.repository = out.tag = "<none>";
    out.dangling = true;
    return out;
  }
  std::string repo = name;
  if (const size_t at = repo.find('@'); at != std::string::npos) {
    out.digest = repo.substr(at + 1);
    out.tag = "<none>";
    repo = repo.substr(0, at);
  } else if (const size_t colon = repo.rfind(':');
             colon != std::string::npos && colon > repo.rfind('/')) {
    out.tag = repo.substr(colon + 1);
    repo = repo.substr(0, colon);
  } else {
    out.tag = "<none>";
  }
  if (absl::StartsWith(repo, "docker.io/")) {
    repo = repo.substr(sizeof("docker.io/") - 1);
    if (absl::StartsWith(repo, "library/") && repo.find('/', 8) == std::string::npos) {
      repo = repo.substr(sizeof("library/") - 1);
    }
  }
  out.repository = repo;
  return out;
}

std::string FamiliarName(const std::string& name) {
  RepoTag rt = SplitName(name);
  if (rt.dangling) return "<none>:<none>";
  if (!rt.digest.empty()) return absl::StrCat(rt.repository, "@", rt.digest);
  return absl::StrCat(rt.repository, ":", rt.tag);
}

std::string ShortId(const std::string& digest, bool no_trunc) {
  if (no_trunc) return digest;
  const size_t colon = digest.find(':');
  std::string hex = colon == std::string::npos ? digest : digest.substr(colon + 1);
  return hex.substr(0, 12);
}

}  // namespace berth::ctl
