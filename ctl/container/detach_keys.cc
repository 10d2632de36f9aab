#include "ctl/container/detach_keys.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth::ctl {

absl::StatusOr<std::string> ParseDetachKeys(absl::string_view keys) {
  if (keys.empty()) return absl::InvalidArgumentError("invalid detach keys: empty sequence");
  std::string out;
  for (absl::string_view key : absl::StrSplit(keys, ',')) {
    if (key.size() == 1) {
      out += key[0];
      continue;
    }
    // ctrl-@ is 0, ctrl-a..ctrl-z are 1..26, then ctrl-[ \ ] ^ _ are 27..31, as in ASCII.
    if (key.size() == 6 && absl::StartsWith(key, "ctrl-")) {
      const char c = absl::ascii_tolower(key[5]);
      if (c >= 'a' && c <= 'z') {
        out += static_cast<char>(c - 'a' + 1);
        continue;
      }
      static constexpr absl::string_view kSymbols = "@[\\]^_";
      if (const size_t i = kSymbols.find(c); i != absl::string_view::npos) {
        out += static_cast<char>(i == 0 ? 0 : 26 + i);
        continue;
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat("invalid detach keys \"", keys, "\": unknown key '", key, "'"));
  }
  return out;
}

DetachMatcher::Result DetachMatcher::Feed(absl::string_view input) {
  Result r;
  if (detached_) {
    r.detach = true;
    return r;
  }
  if (sequence_.empty()) {
    r.forward = std::string(input);
    return r;
  }
  for (char c : input) {
    held_ += c;
    // Drop from the front until what is held can still become the sequence: the dropped
    // bytes were typed for the container. (A suffix may still match, e.g. "aab" for "ab".)
    while (!held_.empty() && !absl::StartsWith(sequence_, held_)) {
      r.forward += held_[0];
      held_.erase(0, 1);
    }
    if (held_ == sequence_) {
      held_.clear();
      detached_ = true;
      r.detach = true;
      return r;
    }
  }
  return r;
}

std::string DetachMatcher::Flush() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace berth::ctl
