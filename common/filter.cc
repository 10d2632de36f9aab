#include "common/filter.h"

#include <re2/re2.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace berth {
namespace {

// A hand-written scanner: the grammar is tiny, and its errors should point at a column.
class Scanner {
 public:
  explicit Scanner(const std::string& text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  bool Consume(absl::string_view s) {
    if (text_.compare(pos_, s.size(), s.data(), s.size()) != 0) return false;
    pos_ += s.size();
    return true;
  }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid filter \"", text_, "\" at column ", pos_ + 1, ": ", what));
  }

  // A field element: letters, digits, '_' and '-', or a quoted string.
  absl::StatusOr<std::string> FieldPart() {
    if (Peek() == '"') return Quoted();
    size_t start = pos_;
    while (!AtEnd() && (absl::ascii_isalnum(static_cast<unsigned char>(Peek())) || Peek() == '_' ||
                        Peek() == '-')) {
      ++pos_;
    }
    if (pos_ == start) return Error("expected a field name");
    return text_.substr(start, pos_ - start);
  }

  // A value runs to the next unquoted comma.
  absl::StatusOr<std::string> Value() {
    if (Peek() == '"') return Quoted();
    size_t start = pos_;
    while (!AtEnd() && Peek() != ',') ++pos_;
    return text_.substr(start, pos_ - start);
  }

 private:
  absl::StatusOr<std::string> Quoted() {
    ++pos_;  // opening quote
    std::string out;
    while (!AtEnd() && Peek() != '"') {
      if (Peek() == '\\') {
        ++pos_;
        if (AtEnd()) break;
      }
      out.push_back(text_[pos_++]);
    }
    if (!Consume("\"")) return Error("unterminated quoted string");
    return out;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<Filter> Filter::Parse(const std::vector<std::string>& filters) {
  Filter f;
  for (const std::string& text : filters) {
    Scanner s(text);
    std::vector<Condition> all;
    do {
      Condition c;
      do {
        absl::StatusOr<std::string> part = s.FieldPart();
        if (!part.ok()) return part.status();
        c.field.push_back(*std::move(part));
      } while (s.Consume("."));
      if (s.Consume("==")) {
        c.op = Condition::Op::kEqual;
      } else if (s.Consume("!=")) {
        c.op = Condition::Op::kNotEqual;
      } else if (s.Consume("~=")) {
        c.op = Condition::Op::kRegex;
      }
      if (c.op != Condition::Op::kPresent) {
        absl::StatusOr<std::string> value = s.Value();
        if (!value.ok()) return value.status();
        c.value = *std::move(value);
      }
      if (c.op == Condition::Op::kRegex) {
        c.regex = std::make_shared<re2::RE2>(c.value, re2::RE2::Quiet);
        if (!c.regex->ok())
          return s.Error(absl::StrCat("bad regular expression: ", c.regex->error()));
      }
      if (!s.AtEnd() && s.Peek() != ',') return s.Error("expected ==, !=, ~= or ','");
      all.push_back(std::move(c));
    } while (s.Consume(","));
    f.alternatives_.push_back(std::move(all));
  }
  return f;
}

bool Filter::Match(const Lookup& lookup) const {
  if (alternatives_.empty()) return true;
  for (const std::vector<Condition>& all : alternatives_) {
    bool ok = true;
    for (const Condition& c : all) {
      absl::optional<std::string> v = lookup(c.field);
      switch (c.op) {
        case Condition::Op::kPresent:
          ok = v.has_value();
          break;
        case Condition::Op::kEqual:
          ok = v.has_value() && *v == c.value;
          break;
        case Condition::Op::kNotEqual:
          ok = !v.has_value() || *v != c.value;
          break;
        case Condition::Op::kRegex:
          ok = v.has_value() && re2::RE2::PartialMatch(*v, *c.regex);
          break;
      }
      if (!ok) break;
    }
    if (ok) return true;
  }
  return false;
}

}  // namespace berth
