#include "ctl/container/timespec.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace berth::ctl {
namespace {

// Go's time.ParseDuration: a number and a unit, repeated; a bare number only for "0".
bool IsGoDuration(absl::string_view v) {
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) v.remove_prefix(1);
  if (v.empty()) return false;
  bool any = false;
  while (!v.empty()) {
    size_t n = 0;
    bool digits = false;
    while (n < v.size() && (absl::ascii_isdigit(v[n]) || v[n] == '.')) {
      digits |= absl::ascii_isdigit(v[n]);
      ++n;
    }
    if (!digits) return false;
    v.remove_prefix(n);
    bool unit = false;
    // Longest first: "ms" before "m".
    for (const char* u : {"ns", "us", "µs", "ms", "h", "s", "m"}) {
      if (absl::StartsWith(v, u)) {
        v.remove_prefix(std::string(u).size());
        unit = true;
        break;
      }
    }
    if (!unit) return false;
    any = true;
  }
  return any;
}

bool ParseUnix(absl::string_view v, absl::Time* t) {
  const size_t dot = v.find('.');
  absl::string_view secs = v.substr(0, dot);
  absl::string_view frac = dot == absl::string_view::npos ? "" : v.substr(dot + 1);
  if (secs.empty() || frac.size() > 9) return false;
  if (dot != absl::string_view::npos && frac.empty()) return false;
  for (char c : secs)
    if (!absl::ascii_isdigit(c)) return false;
  for (char c : frac)
    if (!absl::ascii_isdigit(c)) return false;
  int64_t s = 0, ns = 0;
  if (!absl::SimpleAtoi(secs, &s)) return false;
  if (!frac.empty()) {
    std::string padded(frac);
    padded.resize(9, '0');
    if (!absl::SimpleAtoi(padded, &ns)) return false;
  }
  *t = absl::FromUnixSeconds(s) + absl::Nanoseconds(ns);
  return true;
}

}  // namespace

absl::StatusOr<absl::Time> ParseTimeSpec(absl::string_view flag, absl::string_view value,
                                         absl::Time now, absl::TimeZone local) {
  const std::string v(absl::StripAsciiWhitespace(value));
  if (v != "0" && IsGoDuration(v)) {
    absl::Duration d;
    if (absl::ParseDuration(v, &d)) return now - d;
  }
  // Docker's timetypes.GetTimestamp: a value without a zone is local time.
  const bool in_location =
      !(v.find_first_of("zZ+") != std::string::npos || std::count(v.begin(), v.end(), '-') == 3);
  std::string format;
  if (absl::StrContains(v, ".")) {
    format = "%Y-%m-%dT%H:%M:%E*S";
  } else if (absl::StrContains(v, "T")) {
    int colons = static_cast<int>(std::count(v.begin(), v.end(), ':'));
    if (!in_location && v.find_first_of("zZ") == std::string::npos && colons > 0) --colons;
    format = colons == 0 ? "%Y-%m-%dT%H" : colons == 1 ? "%Y-%m-%dT%H:%M" : "%Y-%m-%dT%H:%M:%S";
  } else {
    format = "%Y-%m-%d";
  }
  if (!in_location) format += "%Ez";
  absl::Time t;
  std::string err;
  if (absl::ParseTime(format, v, in_location ? local : absl::UTCTimeZone(), &t, &err)) return t;
  if (ParseUnix(v, &t)) return t;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value for \"", flag, "\": \"", value,
                   "\" is neither a time (RFC 3339, or Unix seconds) nor a duration (10m, 1h30m)"));
}

std::string FormatRfc3339NanoFixed(absl::Time t, absl::TimeZone zone) {
  const absl::TimeZone::CivilInfo ci = zone.At(t);
  const std::string base = absl::FormatTime("%Y-%m-%dT%H:%M:%E9S", t, zone);
  return ci.offset == 0 ? base + "Z" : base + absl::FormatTime("%Ez", t, zone);
}

}  // namespace berth::ctl
