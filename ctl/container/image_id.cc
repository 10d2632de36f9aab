#include "ctl/container/image_id.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "ctl/container/labels.h"

namespace berth::ctl {
namespace {

bool IsImageId(const std::string& s) {
  constexpr absl::string_view kAlgorithm = "sha256:";
  if (s.size() != kAlgorithm.size() + 64 || !absl::StartsWith(s, kAlgorithm)) return false;
  for (char c : s.substr(kAlgorithm.size())) {
    if (!absl::ascii_isdigit(c) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

}  // namespace

void RecordImageId(const std::string& image_id, std::map<std::string, std::string>* labels) {
  if (IsImageId(image_id)) (*labels)[kLabelImageId] = image_id;
}

std::string RecordedImageId(const berth::services::containers::v1::Container& c) {
  auto it = c.labels().find(kLabelImageId);
  return it != c.labels().end() && IsImageId(it->second) ? it->second : "";
}

}  // namespace berth::ctl
