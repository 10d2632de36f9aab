#include "ctl/container/ps_filter.h"

#include <re2/re2.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ctl/image_format.h"

namespace berth::ctl {
namespace {

const char* const kStates[] = {"created", "restarting", "running", "removing",
                               "paused",  "exited",     "dead"};

bool RegexMatch(const std::string& pattern, const std::string& text) {
  RE2 re(pattern, RE2::Quiet);
  return re.ok() && RE2::PartialMatch(text, re);
}

bool LabelMatches(const std::map<std::string, std::string>& labels, const std::string& want) {
  const size_t eq = want.find('=');
  auto it = labels.find(want.substr(0, eq));
  return it != labels.end() && (eq == std::string::npos || it->second == want.substr(eq + 1));
}

}  // namespace

bool ImageMatches(const std::string& ref, const std::string& image, const std::string& image_id) {
  if (ref.empty()) return false;
  if (ref == image) return true;
  const RepoTag rt = SplitName(image);
  if (rt.digest.empty()) {
    if (ref == rt.repository || ref == absl::StrCat(rt.repository, ":", rt.tag)) {
      return rt.tag == "latest" || ref != rt.repository;
    }
  } else if (ref == FamiliarName(image)) {
    return true;
  }
  if (!image_id.empty()) {
    std::string hex = image_id;
    if (absl::StartsWith(hex, "sha256:")) hex = hex.substr(7);
    std::string want = ref;
    if (absl::StartsWith(want, "sha256:")) want = want.substr(7);
    for (char c : want) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
    }
    return !want.empty() && absl::StartsWith(hex, want);
  }
  return false;
}

absl::StatusOr<PsFilter> PsFilter::Parse(const std::vector<std::string>& args) {
  PsFilter f;
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError("bad format of filter (expected name=value)");
    }
    std::string key = arg.substr(0, eq);
    const std::string value = arg.substr(eq + 1);
    for (char& c : key) c = absl::ascii_tolower(static_cast<unsigned char>(c));
    const auto invalid = [&] {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter '", key, "=", value, "'"));
    };
    if (key == "status") {
      bool known = false;
      for (const char* s : kStates) known |= value == s;
      if (!known) return invalid();
    } else if (key == "exited") {
      int code = 0;
      if (!absl::SimpleAtoi(value, &code)) return invalid();
    } else if (key == "id" || key == "name") {
      if (!RE2(value, RE2::Quiet).ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid filter '", key, "=", value, "': not a regular expression"));
      }
    } else if (key != "label" && key != "ancestor") {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter '", key, "'"));
    }
    f.values_[key].push_back(value);
  }
  return f;
}

bool PsFilter::Match(const PsCandidate& c) const {
  for (const auto& [key, values] : values_) {
    if (key == "label") {
      // Docker's label filters must all hold, unlike the other keys' alternatives.
      for (const std::string& v : values) {
        if (!LabelMatches(c.labels, v)) return false;
      }
      continue;
    }
    bool any = false;
    for (const std::string& v : values) {
      if (key == "status") {
        any = StateName(c.status) == v;
      } else if (key == "exited") {
        int code = 0;
        any = c.status == ContainerStatus::kExited && absl::SimpleAtoi(v, &code) &&
              code == c.exit_code;
      } else if (key == "id") {
        any = RegexMatch(v, c.id);
      } else if (key == "name") {
        // Docker's names carry a leading "/", so "^/web" works there as "^web" does here.
        any = RegexMatch(v, c.name) || RegexMatch(v, "/" + c.name);
      } else if (key == "ancestor") {
        any = ImageMatches(v, c.image, c.image_id);
      }
      if (any) break;
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace berth::ctl
