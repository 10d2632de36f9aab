// The --format lexer and parser: text and {{actions}} into template_ast.h's tree, refusing
// what Go templates have that --format does not support, by name.
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "ctl/container/template_ast.h"

namespace berth::ctl::template_internal {
namespace {

using json = nlohmann::json;

struct Token {
  enum class Kind { kField, kIdent, kLiteral, kPipe, kLParen, kRParen };
  Kind kind;
  std::vector<std::string> path;  // kField
  std::string text;               // kIdent
  json literal;                   // kLiteral
};

bool IdentStart(char c) { return absl::ascii_isalpha(c) || c == '_'; }
bool IdentChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }
bool Space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool IsKeyword(absl::string_view w) {
  for (const char* k : {"if", "else", "end", "range", "with", "define", "template", "block",
                        "break", "continue", "nil"}) {
    if (w == k) return true;
  }
  return false;
}

// Reads a Go string literal starting at s[*i] ('"' or '`'); leaves *i after it.
absl::StatusOr<std::string> ReadString(absl::string_view s, size_t* i) {
  const char quote = s[*i];
  std::string out;
  for (size_t j = *i + 1; j < s.size(); ++j) {
    const char c = s[j];
    if (c == quote) {
      *i = j + 1;
      return out;
    }
    if (quote == '"' && c == '\n') break;
    if (quote == '"' && c == '\\' && j + 1 < s.size()) {
      const char e = s[++j];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '\\':
        case '"':
          out += e;
          break;
        default:
          return Error(absl::StrCat("unknown escape sequence \\", std::string(1, e)));
      }
      continue;
    }
    out += c;
  }
  return Error("unterminated quoted string");
}

// Tokenizes one action from s[*i] up to its closing "}}"; leaves *i after it and sets
// *trim_right for " -}}".
absl::StatusOr<std::vector<Token>> Lex(absl::string_view s, size_t* i, bool* trim_right) {
  std::vector<Token> tokens;
  size_t p = *i;
  for (;;) {
    const size_t before = p;
    while (p < s.size() && Space(s[p])) ++p;
    if (p >= s.size()) return Error("unclosed action");
    if (absl::StartsWith(s.substr(p), "}}")) {
      *i = p + 2;
      return tokens;
    }
    if (p > before && absl::StartsWith(s.substr(p), "-}}")) {
      *trim_right = true;
      *i = p + 3;
      return tokens;
    }
    const char c = s[p];
    if (c == '.') {
      Token t{Token::Kind::kField};
      ++p;
      if (p < s.size() && IdentStart(s[p])) {
        for (;;) {
          const size_t start = p;
          while (p < s.size() && IdentChar(s[p])) ++p;
          t.path.emplace_back(s.substr(start, p - start));
          if (p + 1 < s.size() && s[p] == '.' && IdentStart(s[p + 1])) {
            ++p;
            continue;
          }
          break;
        }
      }
      tokens.push_back(std::move(t));
    } else if (c == '"' || c == '`') {
      Token t{Token::Kind::kLiteral};
      absl::StatusOr<std::string> str = ReadString(s, &p);
      if (!str.ok()) return str.status();
      t.literal = *str;
      tokens.push_back(std::move(t));
    } else if (absl::ascii_isdigit(c) ||
               (c == '-' && p + 1 < s.size() && absl::ascii_isdigit(s[p + 1]))) {
      const size_t start = p++;
      while (p < s.size() && (absl::ascii_isdigit(s[p]) || s[p] == '.')) ++p;
      const absl::string_view text = s.substr(start, p - start);
      Token t{Token::Kind::kLiteral};
      int64_t n = 0;
      double d = 0;
      if (absl::SimpleAtoi(text, &n)) {
        t.literal = n;
      } else if (absl::SimpleAtod(text, &d)) {
        t.literal = d;
      } else {
        return Error(absl::StrCat("bad number syntax: \"", text, "\""));
      }
      tokens.push_back(std::move(t));
    } else if (IdentStart(c)) {
      const size_t start = p;
      while (p < s.size() && IdentChar(s[p])) ++p;
      const std::string word(s.substr(start, p - start));
      if (word == "true" || word == "false") {
        Token t{Token::Kind::kLiteral};
        t.literal = word == "true";
        tokens.push_back(std::move(t));
      } else if (IsKeyword(word)) {
        return Error(absl::StrCat("\"", word, "\" is not supported in --format"));
      } else {
        Token t{Token::Kind::kIdent};
        t.text = word;
        tokens.push_back(std::move(t));
      }
    } else if (c == '|' || c == '(' || c == ')') {
      tokens.push_back(Token{c == '|'   ? Token::Kind::kPipe
                             : c == '(' ? Token::Kind::kLParen
                                        : Token::Kind::kRParen});
      ++p;
    } else if (c == '$') {
      return Error("variables are not supported in --format");
    } else {
      return Error(absl::StrCat("unexpected \"", std::string(1, c), "\" in action"));
    }
  }
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  absl::StatusOr<Pipeline> ParseAction() {
    if (tokens_.empty()) return Error("missing value for command");
    absl::StatusOr<Pipeline> p = ParsePipeline();
    if (!p.ok()) return p.status();
    if (pos_ != tokens_.size()) return Error("unexpected \")\" in action");
    return p;
  }

 private:
  absl::StatusOr<Pipeline> ParsePipeline() {
    Pipeline p;
    for (;;) {
      Command cmd;
      while (pos_ < tokens_.size() && tokens_[pos_].kind != Token::Kind::kPipe &&
             tokens_[pos_].kind != Token::Kind::kRParen) {
        absl::StatusOr<Operand> op = ParseOperand();
        if (!op.ok()) return op.status();
        cmd.operands.push_back(std::move(*op));
      }
      if (cmd.operands.empty()) return Error("missing value for command");
      p.commands.push_back(std::move(cmd));
      if (pos_ < tokens_.size() && tokens_[pos_].kind == Token::Kind::kPipe) {
        ++pos_;
        continue;
      }
      return p;
    }
  }

  absl::StatusOr<Operand> ParseOperand() {
    Token& t = tokens_[pos_++];
    Operand op;
    switch (t.kind) {
      case Token::Kind::kField:
        op.kind = Operand::Kind::kField;
        op.path = std::move(t.path);
        return op;
      case Token::Kind::kIdent:
        op.kind = Operand::Kind::kFunction;
        op.name = std::move(t.text);
        return op;
      case Token::Kind::kLiteral:
        op.kind = Operand::Kind::kLiteral;
        op.literal = std::move(t.literal);
        return op;
      case Token::Kind::kLParen: {
        absl::StatusOr<Pipeline> sub = ParsePipeline();
        if (!sub.ok()) return sub.status();
        if (pos_ >= tokens_.size() || tokens_[pos_].kind != Token::Kind::kRParen) {
          return Error("unclosed left paren");
        }
        ++pos_;
        op.kind = Operand::Kind::kParen;
        op.sub = std::make_shared<Pipeline>(std::move(*sub));
        return op;
      }
      default:
        return Error("unexpected token in operand");
    }
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

}  // namespace

absl::Status Error(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("template: ", message));
}

absl::StatusOr<std::vector<Node>> ParseNodes(absl::string_view source) {
  std::vector<Node> nodes;
  const absl::string_view s = source;
  size_t i = 0;
  bool trim_next_text = false;
  while (i <= s.size()) {
    const size_t open = s.find("{{", i);
    std::string text(s.substr(i, open == absl::string_view::npos ? s.npos : open - i));
    if (trim_next_text) {
      text = std::string(absl::StripLeadingAsciiWhitespace(text));
      trim_next_text = false;
    }
    if (open == absl::string_view::npos) {
      if (!text.empty()) nodes.push_back(Node{true, text, {}});
      break;
    }
    size_t p = open + 2;
    if (p + 1 < s.size() && s[p] == '-' && Space(s[p + 1])) {
      text = std::string(absl::StripTrailingAsciiWhitespace(text));
      p += 2;
      while (p < s.size() && Space(s[p])) ++p;
    }
    if (!text.empty()) nodes.push_back(Node{true, text, {}});
    if (absl::StartsWith(s.substr(p), "/*")) {
      const size_t end = s.find("*/", p + 2);
      if (end == absl::string_view::npos) return Error("unclosed comment");
      p = end + 2;
      const size_t close = s.find("}}", p);
      if (close == absl::string_view::npos) return Error("unclosed action");
      const absl::string_view rest = absl::StripAsciiWhitespace(s.substr(p, close - p));
      if (rest == "-") {
        trim_next_text = true;
      } else if (!rest.empty()) {
        return Error("comment ends before closing delimiter");
      }
      i = close + 2;
      continue;
    }
    bool trim_right = false;
    absl::StatusOr<std::vector<Token>> tokens = Lex(s, &p, &trim_right);
    if (!tokens.ok()) return tokens.status();
    absl::StatusOr<Pipeline> pipeline = Parser(std::move(*tokens)).ParseAction();
    if (!pipeline.ok()) return pipeline.status();
    Node node;
    node.is_text = false;
    node.pipeline = std::move(*pipeline);
    nodes.push_back(std::move(node));
    trim_next_text = trim_right;
    i = p;
  }
  return nodes;
}

}  // namespace berth::ctl::template_internal
