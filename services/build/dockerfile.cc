#include "services/build/dockerfile.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace berth::build {
namespace {

const std::vector<std::string>& Keywords() {
  static const auto* k = new std::vector<std::string>{
      "ADD",    "ARG",   "CMD",         "COPY",  "ENTRYPOINT", "ENV",
      "EXPOSE", "FROM",  "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD",
      "RUN",    "SHELL", "STOPSIGNAL",  "USER",  "VOLUME",     "WORKDIR"};
  return *k;
}

// The options each instruction takes; anything else is "unknown flag".
std::vector<std::string> AllowedFlags(absl::string_view keyword) {
  if (keyword == "FROM") return {"platform"};
  if (keyword == "RUN") return {"mount", "network", "security"};
  if (keyword == "COPY") return {"from", "chown", "chmod", "link", "parents", "exclude"};
  if (keyword == "ADD") return {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"};
  if (keyword == "HEALTHCHECK") {
    return {"interval", "timeout", "start-period", "start-interval", "retries"};
  }
  return {};
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v'; }

absl::Status Error(absl::string_view name, int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(name, ":", line, ": ", what));
}

int Distance(absl::string_view a, absl::string_view b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "unknown instruction: FORM (did you mean FROM?)"
std::string UnknownInstruction(const std::string& keyword) {
  std::string best;
  int best_d = 3;
  for (const std::string& k : Keywords()) {
    const int d = Distance(keyword, k);
    if (d < best_d) best_d = d, best = k;
  }
  std::string msg = absl::StrCat("unknown instruction: ", keyword);
  if (!best.empty()) absl::StrAppend(&msg, " (did you mean ", best, "?)");
  return msg;
}

// Leading "--name=value" words: the flags, and the text after them.
absl::Status ExtractFlags(absl::string_view* rest, std::vector<Instruction::Flag>* flags,
                          absl::string_view name, int line) {
  for (;;) {
    *rest = absl::StripLeadingAsciiWhitespace(*rest);
    if (!absl::StartsWith(*rest, "--")) return absl::OkStatus();
    // A word, honouring quotes (which are removed from the flag's value).
    std::string word;
    size_t i = 0;
    char quote = 0;
    for (; i < rest->size(); ++i) {
      const char c = (*rest)[i];
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        } else {
          word += c;
        }
        continue;
      }
      if (IsSpace(c)) break;
      if (c == '"' || c == '\'') {
        quote = c;
        continue;
      }
      word += c;
    }
    if (quote != 0) return Error(name, line, "unterminated quote in a --flag");
    rest->remove_prefix(i);
    if (word == "--") return absl::OkStatus();
    Instruction::Flag f;
    const std::string body = word.substr(2);
    if (size_t eq = body.find('='); eq != std::string::npos) {
      f.name = body.substr(0, eq);
      f.value = body.substr(eq + 1);
      f.has_value = true;
    } else {
      f.name = body;
    }
    flags->push_back(std::move(f));
  }
}

// A JSON array of strings, or nothing.
bool ParseJsonArray(absl::string_view text, std::vector<std::string>* out) {
  text = absl::StripAsciiWhitespace(text);
  if (!absl::StartsWith(text, "[")) return false;
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_array()) return false;
  std::vector<std::string> v;
  for (const auto& e : j) {
    if (!e.is_string()) return false;
    v.push_back(e.get<std::string>());
  }
  *out = std::move(v);
  return true;
}

std::vector<std::string> Whitespace(absl::string_view text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t\r\n\v"), absl::SkipEmpty());
}

// RUN/CMD/ENTRYPOINT: JSON, or the shell text as one argument.
void MaybeJson(absl::string_view rest, Instruction* in) {
  if (ParseJsonArray(rest, &in->args)) {
    in->json = true;
    return;
  }
  const std::string text(absl::StripTrailingAsciiWhitespace(rest));
  if (!text.empty()) in->args = {text};
}

// COPY/ADD/VOLUME: JSON, or the words split on whitespace alone.
void MaybeJsonList(absl::string_view rest, Instruction* in) {
  if (ParseJsonArray(rest, &in->args)) {
    in->json = true;
    return;
  }
  in->args = Whitespace(rest);
}

absl::Status NameValues(absl::string_view rest, char escape, Instruction* in,
                        absl::string_view name) {
  const std::vector<std::string> words = SplitWords(rest, escape);
  if (words.empty())
    return Error(name, in->line, absl::StrCat(in->keyword, " requires at least one argument"));
  if (words[0].find('=') == std::string::npos) {
    // The old form: ENV name value with spaces
    std::vector<std::string> parts = absl::StrSplit(absl::StripAsciiWhitespace(rest),
                                                    absl::MaxSplits(absl::ByAnyChar(" \t"), 1));
    if (parts.size() < 2 || absl::StripAsciiWhitespace(parts[1]).empty()) {
      return Error(name, in->line, absl::StrCat(in->keyword, " must have two arguments"));
    }
    in->args = {parts[0], std::string(absl::StripLeadingAsciiWhitespace(parts[1]))};
    return absl::OkStatus();
  }
  for (const std::string& w : words) {
    const size_t eq = w.find('=');
    if (eq == std::string::npos) {
      return Error(name, in->line,
                   absl::StrCat("Syntax error - can't find = in \"", w,
                                "\". Must be of the form: name=value"));
    }
    if (eq == 0) return Error(name, in->line, absl::StrCat(in->keyword, " names can not be blank"));
    in->args.push_back(w.substr(0, eq));
    in->args.push_back(w.substr(eq + 1));
  }
  return absl::OkStatus();
}

absl::Status ParseArgs(absl::string_view rest, char escape, Instruction* in,
                       absl::string_view name) {
  const std::string& k = in->keyword;
  if (k == "RUN" || k == "CMD" || k == "ENTRYPOINT") {
    MaybeJson(rest, in);
    if (k == "RUN" && in->args.empty() && !in->json) {
      return Error(name, in->line, "RUN requires at least one argument");
    }
  } else if (k == "SHELL") {
    if (!ParseJsonArray(rest, &in->args)) {
      return Error(name, in->line, "SHELL requires the arguments to be in JSON form");
    }
    in->json = true;
    if (in->args.empty()) return Error(name, in->line, "SHELL requires at least one argument");
  } else if (k == "COPY" || k == "ADD") {
    MaybeJsonList(rest, in);
    if (in->args.size() < 2) {
      return Error(name, in->line,
                   absl::StrCat(k, " requires at least two arguments, but only ", in->args.size(),
                                " provided"));
    }
  } else if (k == "VOLUME") {
    MaybeJsonList(rest, in);
    if (in->args.empty()) return Error(name, in->line, "VOLUME requires at least one argument");
  } else if (k == "ENV" || k == "LABEL") {
    return NameValues(rest, escape, in, name);
  } else if (k == "ARG") {
    in->args = SplitWords(rest, escape);
    if (in->args.empty()) return Error(name, in->line, "ARG requires at least one argument");
  } else if (k == "WORKDIR" || k == "USER" || k == "STOPSIGNAL" || k == "MAINTAINER" ||
             k == "ONBUILD") {
    const std::string text(absl::StripAsciiWhitespace(rest));
    if (text.empty())
      return Error(name, in->line, absl::StrCat(k, " requires exactly one argument"));
    in->args = {text};
    if ((k == "USER" || k == "STOPSIGNAL") && Whitespace(text).size() != 1) {
      return Error(name, in->line, absl::StrCat(k, " requires exactly one argument"));
    }
    if (k == "ONBUILD") {
      std::vector<std::string> first = Whitespace(text);
      const std::string trigger = absl::AsciiStrToUpper(first[0]);
      if (trigger == "ONBUILD") {
        return Error(name, in->line, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      }
      if (trigger == "FROM" || trigger == "MAINTAINER") {
        return Error(name, in->line, absl::StrCat(trigger, " isn't allowed as an ONBUILD trigger"));
      }
      absl::StatusOr<Instruction> sub = ParseInstruction(text, in->line, escape, name);
      if (!sub.ok()) return sub.status();
    }
  } else if (k == "HEALTHCHECK") {
    std::vector<std::string> words = Whitespace(rest);
    if (words.empty()) return Error(name, in->line, "HEALTHCHECK requires an argument");
    const std::string kind = absl::AsciiStrToUpper(words[0]);
    if (kind == "NONE") {
      if (words.size() != 1) return Error(name, in->line, "HEALTHCHECK NONE takes no arguments");
      if (!in->flags.empty()) return Error(name, in->line, "HEALTHCHECK NONE takes no options");
      in->args = {"NONE"};
    } else if (kind == "CMD") {
      absl::string_view cmd = absl::StripLeadingAsciiWhitespace(rest);
      cmd.remove_prefix(3);
      cmd = absl::StripLeadingAsciiWhitespace(cmd);
      Instruction tmp;
      MaybeJson(cmd, &tmp);
      if (tmp.args.empty()) return Error(name, in->line, "HEALTHCHECK CMD requires a command");
      in->json = tmp.json;
      in->args = {"CMD"};
      in->args.insert(in->args.end(), tmp.args.begin(), tmp.args.end());
    } else {
      return Error(name, in->line,
                   absl::StrCat("Unknown type \"", words[0], "\" in HEALTHCHECK (try CMD)"));
    }
  } else {  // FROM, EXPOSE
    in->args = Whitespace(rest);
    if (in->args.empty()) {
      return Error(name, in->line, absl::StrCat(k, " requires at least one argument"));
    }
  }
  return absl::OkStatus();
}

// "# key=value" at the top of the file.
bool Directive(absl::string_view line, std::string* key, std::string* value) {
  if (!absl::ConsumePrefix(&line, "#")) return false;
  line = absl::StripLeadingAsciiWhitespace(line);
  size_t i = 0;
  if (line.empty() || !absl::ascii_isalpha(static_cast<unsigned char>(line[0]))) return false;
  while (i < line.size() && absl::ascii_isalnum(static_cast<unsigned char>(line[i]))) ++i;
  *key = absl::AsciiStrToLower(line.substr(0, i));
  line.remove_prefix(i);
  line = absl::StripLeadingAsciiWhitespace(line);
  if (!absl::ConsumePrefix(&line, "=")) return false;
  *value = std::string(absl::StripAsciiWhitespace(line));
  return !value->empty();
}

bool IsComment(absl::string_view line) {
  return absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "#");
}

// Removes a trailing escape character (and the blanks after it): true when one was there.
bool TrimContinuation(std::string* line, char escape) {
  size_t end = line->size();
  while (end > 0 && ((*line)[end - 1] == ' ' || (*line)[end - 1] == '\t')) --end;
  if (end == 0 || (*line)[end - 1] != escape) return false;
  line->resize(end - 1);
  return true;
}

struct Marker {
  std::string name;
  bool chomp = false;
  bool quoted = false;
};

// The heredoc markers of a line, in order, outside quotes ("<<<" is a here-string, not one).
std::vector<Marker> HeredocMarkers(absl::string_view line) {
  std::vector<Marker> out;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      continue;
    }
    if (c != '<' || i + 1 >= line.size() || line[i + 1] != '<') continue;
    if (i + 2 < line.size() && line[i + 2] == '<') {
      i += 2;
      continue;
    }
    size_t j = i + 2;
    Marker m;
    if (j < line.size() && line[j] == '-') m.chomp = true, ++j;
    char q = 0;
    if (j < line.size() && (line[j] == '"' || line[j] == '\'')) q = line[j++], m.quoted = true;
    const size_t start = j;
    while (j < line.size() &&
           (absl::ascii_isalnum(static_cast<unsigned char>(line[j])) || line[j] == '_' ||
            line[j] == '.' || line[j] == '-' || line[j] == '/')) {
      ++j;
    }
    if (j == start || (q != 0 && (j >= line.size() || line[j] != q))) continue;
    m.name = std::string(line.substr(start, j - start));
    if (q != 0) ++j;
    out.push_back(std::move(m));
    i = j - 1;
  }
  return out;
}

}  // namespace

const Instruction::Heredoc* Instruction::FindHeredoc(absl::string_view word) const {
  if (!absl::ConsumePrefix(&word, "<<")) return nullptr;
  absl::ConsumePrefix(&word, "-");
  if (!word.empty() && (word.front() == '"' || word.front() == '\'') && word.size() >= 2 &&
      word.back() == word.front()) {
    word = word.substr(1, word.size() - 2);
  }
  for (const Heredoc& h : heredocs) {
    if (h.name == word) return &h;
  }
  return nullptr;
}

const Instruction::Flag* Instruction::FindFlag(absl::string_view name) const {
  for (const Flag& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool IsKnownInstruction(absl::string_view keyword) {
  const auto& k = Keywords();
  return std::find(k.begin(), k.end(), keyword) != k.end();
}

std::vector<std::string> SplitWords(absl::string_view rest, char escape) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false, blank_ok = false;
  char quote = 0;
  for (size_t pos = 0; pos < rest.size(); ++pos) {
    char ch = rest[pos];
    if (!in_word && quote == 0) {
      if (IsSpace(ch)) continue;
      in_word = true;
    }
    if (quote == 0) {
      if (IsSpace(ch)) {
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        in_word = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
      }
      if (ch == escape) {
        if (pos + 1 == rest.size()) continue;  // an escape at the very end is dropped
        word += ch;
        ch = rest[++pos];
      }
      word += ch;
      continue;
    }
    // In quotes: the escape character escapes, except inside single quotes.
    if (ch == quote) {
      quote = 0;
    } else if (ch == escape && quote != '\'') {
      if (pos + 1 == rest.size()) continue;
      word += ch;
      ch = rest[++pos];
    }
    word += ch;
  }
  if (in_word || quote != 0) {
    if (blank_ok || !word.empty()) words.push_back(word);
  }
  return words;
}

absl::StatusOr<Instruction> ParseInstruction(absl::string_view text, int line, char escape,
                                             absl::string_view name) {
  text = absl::StripAsciiWhitespace(text);
  Instruction in;
  in.line = line;
  const size_t sp = text.find_first_of(" \t");
  in.keyword = absl::AsciiStrToUpper(text.substr(0, sp));
  absl::string_view rest = sp == absl::string_view::npos ? "" : text.substr(sp + 1);
  if (!IsKnownInstruction(in.keyword)) return Error(name, line, UnknownInstruction(in.keyword));
  rest = absl::StripLeadingAsciiWhitespace(rest);
  in.original = rest.empty() ? in.keyword : absl::StrCat(in.keyword, " ", rest);
  if (absl::Status st = ExtractFlags(&rest, &in.flags, name, line); !st.ok()) return st;
  const std::vector<std::string> allowed = AllowedFlags(in.keyword);
  for (const Instruction::Flag& f : in.flags) {
    if (std::find(allowed.begin(), allowed.end(), f.name) == allowed.end()) {
      return Error(
          name, line,
          absl::StrCat("unknown flag: --", f.name, " (", in.keyword,
                       allowed.empty() ? " takes no flags"
                                       : absl::StrCat(" takes --", absl::StrJoin(allowed, ", --")),
                       ")"));
    }
  }
  if (absl::Status st = ParseArgs(rest, escape, &in, name); !st.ok()) return st;
  return in;
}

absl::StatusOr<Dockerfile> ParseDockerfile(absl::string_view text, absl::string_view name) {
  Dockerfile df;
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  for (std::string& l : lines) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
  }
  size_t i = 0;
  // Parser directives: only at the very top, each at most once.
  bool seen_escape = false, seen_syntax = false;
  for (; i < lines.size(); ++i) {
    std::string key, value;
    if (!Directive(lines[i], &key, &value)) break;
    if (key == "escape") {
      if (seen_escape) {
        return Error(name, static_cast<int>(i + 1), "only one escape parser directive can be used");
      }
      if (value != "\\" && value != "`") {
        return Error(name, static_cast<int>(i + 1),
                     absl::StrCat("invalid escape token '", value, "' does not match ` or \\"));
      }
      seen_escape = true;
      df.escape = value[0];
    } else if (key == "syntax") {
      if (seen_syntax) {
        return Error(name, static_cast<int>(i + 1), "only one syntax parser directive can be used");
      }
      seen_syntax = true;
      df.syntax = value;
    } else if (key != "check") {
      break;  // an unknown directive is a comment, and ends the directives
    }
  }
  for (; i < lines.size(); ++i) {
    std::string line(absl::StripLeadingAsciiWhitespace(lines[i]));
    if (line.empty() || IsComment(line)) continue;
    const int first = static_cast<int>(i + 1);
    bool empty_continuation = false;
    bool more = TrimContinuation(&line, df.escape);
    while (more && i + 1 < lines.size()) {
      ++i;
      std::string next = lines[i];
      if (IsComment(next)) continue;
      if (absl::StripAsciiWhitespace(next).empty()) {
        empty_continuation = true;
        continue;
      }
      more = TrimContinuation(&next, df.escape);
      line += next;
    }
    if (empty_continuation) {
      df.warnings.push_back(absl::StrCat(name, ":", first,
                                         ": empty continuation line (a future release may "
                                         "treat it as the end of the instruction)"));
    }
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    absl::StatusOr<Instruction> in = ParseInstruction(line, first, df.escape, name);
    if (!in.ok()) return in.status();
    if ((in->keyword == "RUN" || in->keyword == "COPY" || in->keyword == "ADD") && !in->json) {
      // Each heredoc's lines follow the instruction, up to its terminator.
      for (const Marker& m : HeredocMarkers(line)) {
        Instruction::Heredoc h{.name = m.name, .content = "", .expand = !m.quoted};
        bool ended = false;
        while (!ended && i + 1 < lines.size()) {
          absl::string_view body = lines[++i];
          if (m.chomp) {
            const size_t k = body.find_first_not_of('\t');
            body.remove_prefix(k == absl::string_view::npos ? body.size() : k);
          }
          if (body == m.name) {
            ended = true;
          } else {
            absl::StrAppend(&h.content, body, "\n");
          }
        }
        if (!ended) {
          return Error(name, first, absl::StrCat("unterminated heredoc <<", m.name));
        }
        in->heredocs.push_back(std::move(h));
      }
    }
    if (in->keyword == "MAINTAINER") {
      df.warnings.push_back(
          absl::StrCat(name, ":", first, ": MAINTAINER is deprecated; use LABEL maintainer=…"));
    }
    df.instructions.push_back(*std::move(in));
  }
  if (df.instructions.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": the file has no instructions"));
  }
  return df;
}

}  // namespace berth::build
