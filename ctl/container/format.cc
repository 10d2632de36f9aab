#include "ctl/container/format.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ctl/container/labels.h"
#include "ctl/image_format.h"
#include "ctl/table.h"

namespace berth::ctl {
namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 if it is not valid UTF-8 (overlong
// forms, surrogates and code points past U+10FFFF included), as Go's decoder judges it.
size_t Utf8Length(absl::string_view text, size_t i, uint32_t* code_point) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char c = b(0);
  size_t n = 0;
  uint32_t cp = 0, min = 0;
  if (c < 0x80) {
    *code_point = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return n;
}

std::string Since(absl::optional<absl::Time> t, absl::Time now) {
  return t.has_value() ? HumanDuration(now - *t) : "";
}

}  // namespace

std::string StatusText(const ContainerState& s, absl::Time now) {
  switch (s.status) {
    case ContainerStatus::kCreated:
      return "Created";
    case ContainerStatus::kRunning:
      return s.started_at ? absl::StrCat("Up ", Since(s.started_at, now)) : "Up";
    case ContainerStatus::kPaused:
      return s.started_at ? absl::StrCat("Up ", Since(s.started_at, now), " (Paused)")
                          : "Up (Paused)";
    case ContainerStatus::kRestarting:
      return s.finished_at ? absl::StrCat("Restarting (", s.exit_code, ") ",
                                          Since(s.finished_at, now), " ago")
                           : absl::StrCat("Restarting (", s.exit_code, ")");
    case ContainerStatus::kExited:
      return s.finished_at
                 ? absl::StrCat("Exited (", s.exit_code, ") ", Since(s.finished_at, now), " ago")
                 : absl::StrCat("Exited (", s.exit_code, ")");
    case ContainerStatus::kRemoving:
      return "Removal In Progress";
    case ContainerStatus::kDead:
      return "Dead";
  }
  return "";
}

std::string StateName(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::kCreated:
      return "created";
    case ContainerStatus::kRunning:
      return "running";
    case ContainerStatus::kPaused:
      return "paused";
    case ContainerStatus::kRestarting:
      return "restarting";
    case ContainerStatus::kExited:
      return "exited";
    case ContainerStatus::kRemoving:
      return "removing";
    case ContainerStatus::kDead:
      return "dead";
  }
  return "";
}

ContainerState StateFromLabels(const std::map<std::string, std::string>& labels) {
  ContainerState s;
  const auto time_of = [&](const char* key) -> absl::optional<absl::Time> {
    auto it = labels.find(key);
    if (it == labels.end()) return absl::nullopt;
    absl::StatusOr<absl::Time> t = ParseRfc3339(it->second);
    return t.ok() ? absl::optional<absl::Time>(*t) : absl::nullopt;
  };
  s.started_at = time_of(kLabelStartedAt);
  if (!s.started_at) return s;
  s.status = ContainerStatus::kExited;
  s.finished_at = time_of(kLabelExitedAt);
  if (auto it = labels.find(kLabelExitStatus); it != labels.end()) {
    if (!absl::SimpleAtoi(it->second, &s.exit_code)) s.exit_code = 0;
  }
  return s;
}

std::string Ago(absl::Time then, absl::Time now) {
  return absl::StrCat(HumanDuration(now - then), " ago");
}

std::string FormatRfc3339Nano(absl::Time t) {
  // %E*S: seconds with as many fractional digits as needed and no trailing zeros, as Go's
  // RFC3339Nano; UTC is written "Z".
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid RFC 3339 time \"", text, "\": ", err));
  }
  return t;
}

std::string CommandLine(const std::vector<std::string>& args) {
  if (args.empty()) return "";
  std::vector<std::string> parts = {args[0]};
  for (size_t i = 1; i < args.size(); ++i) {
    parts.push_back(args[i].find(' ') == std::string::npos ? args[i]
                                                           : absl::StrCat("'", args[i], "'"));
  }
  return absl::StrJoin(parts, " ");
}

std::string PsCommand(const std::vector<std::string>& args, bool no_trunc) {
  std::string command = CommandLine(args);
  if (!no_trunc) command = Ellipsis(command, 20);
  return GoQuote(command);
}

std::string Ellipsis(absl::string_view text, size_t width) {
  if (width == 0) return "";
  if (TextWidth(text) <= width) return std::string(text);
  // Keep width-1 code points and add the ellipsis (width 1: just the first code point).
  const size_t keep = width == 1 ? 1 : width - 1;
  size_t points = 0, end = 0;
  for (; end < text.size(); ++end) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) continue;
    if (points == keep) break;
    ++points;
  }
  std::string out(text.substr(0, end));
  if (width > 1) out += "…";
  return out;
}

std::string GoQuote(absl::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t n = Utf8Length(text, i, &cp);
    if (n == 0) {
      absl::StrAppendFormat(&out, "\\x%02x", static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (cp < 0x20 || cp == 0x7F) {
          absl::StrAppendFormat(&out, "\\x%02x", cp);
        } else if (cp >= 0x80 && cp < 0xA0) {
          // C1 controls are not printable to Go either.
          absl::StrAppendFormat(&out, "\\u%04x", cp);
        } else {
          out.append(text.data() + i, n);
        }
    }
    i += n;
  }
  out += '"';
  return out;
}

std::string PsSize(int64_t rw_bytes, int64_t rootfs_bytes) {
  return absl::StrCat(HumanSize(rw_bytes), " (virtual ", HumanSize(rootfs_bytes), ")");
}

}  // namespace berth::ctl
