// List filters shared by every List RPC.
//
// A request carries several filter strings; an object matches when ANY string matches, and a
// string matches when ALL of its comma-separated conditions hold:
//
//   type==berth.snapshotter.v1,id==overlayfs
//   labels."com.example.tier"!=db
//   name~=^web-[0-9]+$          (RE2, searched anywhere unless anchored)
//   labels.owner                (present, any value)
//
// A value with a comma, or any odd character, is double-quoted with backslash escapes.
#ifndef BERTH_COMMON_FILTER_H_
#define BERTH_COMMON_FILTER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"

namespace re2 {
class RE2;
}

namespace berth {

class Filter {
 public:
  // Returns the value of a field path (["labels", "com.example.tier"]), or nullopt if absent.
  using Lookup = std::function<absl::optional<std::string>(const std::vector<std::string>&)>;

  // No strings: a filter that matches everything.
  static absl::StatusOr<Filter> Parse(const std::vector<std::string>& filters);

  bool Match(const Lookup& lookup) const;
  bool MatchesEverything() const { return alternatives_.empty(); }

 private:
  struct Condition {
    enum class Op { kPresent, kEqual, kNotEqual, kRegex };
    std::vector<std::string> field;
    Op op = Op::kPresent;
    std::string value;
    std::shared_ptr<re2::RE2> regex;
  };
  std::vector<std::vector<Condition>> alternatives_;
};

}  // namespace berth

#endif  // BERTH_COMMON_FILTER_H_
