#include "common/namespace.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace berth {

absl::Status ValidateNamespace(absl::string_view name) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid namespace \"", name, "\": ", why));
  };
  if (name.empty()) return invalid("it is empty");
  if (name.size() > 76) return invalid("longer than 76 characters");
  bool prev_sep = true;  // A separator may not start the name.
  for (char c : name) {
    bool sep = c == '.' || c == '_' || c == '-';
    if (!sep && !absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      return invalid("use only letters, digits and single '.', '_' or '-' between them");
    }
    if (sep && prev_sep) return invalid("a separator must sit between letters or digits");
    prev_sep = sep;
  }
  if (prev_sep) return invalid("it must end with a letter or digit");
  return absl::OkStatus();
}

}  // namespace berth
