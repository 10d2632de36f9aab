#include "services/build/shell_lex.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace berth::build {
namespace {

class Lexer {
 public:
  Lexer(absl::string_view in, VarLookup vars, char escape, bool split)
      : in_(in), vars_(std::move(vars)), escape_(escape), split_(split) {}

  // Reads up to `stop` (0: the end), which is consumed. Text from quotes is marked as such
  // in `quoted_`, so that splitting leaves it whole.
  absl::StatusOr<std::string> Process(char stop) {
    std::string out;
    while (pos_ < in_.size()) {
      const char ch = in_[pos_];
      if (stop != 0 && ch == stop) {
        ++pos_;
        stopped_ = true;
        return out;
      }
      if (ch == escape_) {
        ++pos_;
        if (pos_ >= in_.size()) break;
        Append(&out, in_[pos_++], true);
        continue;
      }
      if (ch == '\'') {
        ++pos_;
        absl::Status st = SingleQuoted(&out);
        if (!st.ok()) return st;
        continue;
      }
      if (ch == '"') {
        ++pos_;
        absl::Status st = DoubleQuoted(&out);
        if (!st.ok()) return st;
        continue;
      }
      if (ch == '$') {
        ++pos_;
        absl::StatusOr<std::string> v = Dollar();
        if (!v.ok()) return v.status();
        for (char c : *v) Append(&out, c, false);
        continue;
      }
      Append(&out, ch, false);
      ++pos_;
    }
    return out;
  }

  bool stopped() const { return stopped_; }
  // For splitting: whether each output character came from quotes or escapes.
  const std::string& marks() const { return marks_; }
  std::vector<std::string> names;

 private:
  void Append(std::string* out, char c, bool literal) {
    out->push_back(c);
    if (split_) marks_.push_back(literal ? 'q' : ' ');
  }

  absl::Status SingleQuoted(std::string* out) {
    while (pos_ < in_.size()) {
      const char ch = in_[pos_++];
      if (ch == '\'') return absl::OkStatus();
      Append(out, ch, true);
    }
    return absl::InvalidArgumentError(
        "unexpected end of statement while looking for matching single-quote");
  }

  absl::Status DoubleQuoted(std::string* out) {
    while (pos_ < in_.size()) {
      const char ch = in_[pos_];
      if (ch == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (ch == '$') {
        ++pos_;
        absl::StatusOr<std::string> v = Dollar();
        if (!v.ok()) return v.status();
        for (char c : *v) Append(out, c, true);
        continue;
      }
      if (ch == escape_ && pos_ + 1 < in_.size()) {
        const char next = in_[pos_ + 1];
        if (next == '"' || next == '$' || next == escape_) {
          Append(out, next, true);
          pos_ += 2;
          continue;
        }
      }
      Append(out, ch, true);
      ++pos_;
    }
    return absl::InvalidArgumentError(
        "unexpected end of statement while looking for matching double-quote");
  }

  std::string Name() {
    std::string name;
    if (pos_ < in_.size() && absl::ascii_isdigit(static_cast<unsigned char>(in_[pos_]))) {
      return std::string(1, in_[pos_++]);  // $1: positional, never set here
    }
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') break;
      name += c;
      ++pos_;
    }
    return name;
  }

  absl::optional<std::string> Get(const std::string& name) {
    names.push_back(name);
    return vars_ ? vars_(name) : absl::nullopt;
  }

  // After a '$'.
  absl::StatusOr<std::string> Dollar() {
    if (pos_ >= in_.size() || in_[pos_] != '{') {
      const std::string name = Name();
      if (name.empty()) return std::string("$");
      return Get(name).value_or("");
    }
    ++pos_;  // '{'
    const std::string name = Name();
    if (name.empty()) return absl::InvalidArgumentError("bad substitution: missing variable name");
    if (pos_ >= in_.size()) return absl::InvalidArgumentError("missing '}' in substitution");
    char ch = in_[pos_++];
    if (ch == '}') return Get(name).value_or("");
    bool colon = false;
    if (ch == ':') {
      colon = true;
      if (pos_ >= in_.size()) return absl::InvalidArgumentError("missing '}' in substitution");
      ch = in_[pos_++];
    }
    if (ch != '-' && ch != '+' && ch != '?') {
      return absl::InvalidArgumentError(absl::StrCat("unsupported modifier (", colon ? ":" : "",
                                                     std::string(1, ch), ") in substitution"));
    }
    // The word after the modifier is itself expanded, up to the closing brace.
    Lexer sub(in_.substr(pos_), vars_, escape_, false);
    absl::StatusOr<std::string> word = sub.Process('}');
    if (!word.ok()) return word.status();
    if (!sub.stopped()) return absl::InvalidArgumentError("missing '}' in substitution");
    pos_ += sub.pos_;
    names.insert(names.end(), sub.names.begin(), sub.names.end());
    const absl::optional<std::string> v = Get(name);
    const bool set = colon ? (v.has_value() && !v->empty()) : v.has_value();
    switch (ch) {
      case '-':
        return set ? *v : *word;
      case '+':
        return set ? *word : std::string();
      default:  // '?'
        if (set) return *v;
        return absl::InvalidArgumentError(
            absl::StrCat(name, ": ", word->empty() ? "is not allowed to be unset" : *word));
    }
  }

  absl::string_view in_;
  VarLookup vars_;
  const char escape_;
  const bool split_;
  size_t pos_ = 0;
  bool stopped_ = false;
  std::string marks_;
};

}  // namespace

VarLookup MapLookup(const std::map<std::string, std::string>& vars) {
  return [&vars](const std::string& name) -> absl::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return absl::nullopt;
    return it->second;
  };
}

absl::StatusOr<std::string> ExpandWord(absl::string_view word, const VarLookup& vars, char escape) {
  Lexer lex(word, vars, escape, false);
  return lex.Process(0);
}

absl::StatusOr<std::vector<std::string>> ExpandWords(absl::string_view word, const VarLookup& vars,
                                                     char escape) {
  Lexer lex(word, vars, escape, true);
  absl::StatusOr<std::string> out = lex.Process(0);
  if (!out.ok()) return out.status();
  std::vector<std::string> words;
  std::string cur;
  bool have = false;
  for (size_t i = 0; i < out->size(); ++i) {
    const char c = (*out)[i];
    const bool literal = lex.marks()[i] == 'q';
    if (!literal && (c == ' ' || c == '\t' || c == '\n')) {
      if (have) words.push_back(cur);
      cur.clear();
      have = false;
      continue;
    }
    cur += c;
    have = true;
  }
  if (have) words.push_back(cur);
  return words;
}

std::vector<std::string> ReferencedNames(absl::string_view word, char escape) {
  Lexer lex(word, nullptr, escape, false);
  lex.Process(0).IgnoreError();
  return lex.names;
}

}  // namespace berth::build
