#include "ctl/container/template.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "ctl/container/template_ast.h"
#include "ctl/table.h"

namespace berth::ctl {
namespace {

using json = nlohmann::json;
using template_internal::Command;
using template_internal::Error;
using template_internal::Node;
using template_internal::Operand;
using template_internal::ParseNodes;
using template_internal::Pipeline;

bool Space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "nil";
    case json::value_t::object:
      return "map";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "bool";
    default:
      return "number";
  }
}

std::string FieldText(const std::vector<std::string>& path, size_t upto) {
  std::string out;
  for (size_t i = 0; i < upto && i < path.size(); ++i) absl::StrAppend(&out, ".", path[i]);
  return out.empty() ? "." : out;
}

absl::StatusOr<json> EvalField(const std::vector<std::string>& path, const json& dot) {
  const json* v = &dot;
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string at = FieldText(path, i + 1);
    if (!v->is_object()) {
      return Error(
          absl::StrCat("at <", at, ">: can't evaluate field ", path[i], " in type ", TypeName(*v)));
    }
    auto it = v->find(path[i]);
    if (it == v->end()) {
      return Error(absl::StrCat("at <", at, ">: map has no entry for key \"", path[i], "\""));
    }
    v = &*it;
  }
  return *v;
}

absl::StatusOr<json> Index(const json& container, const json& key, absl::string_view what) {
  if (container.is_object()) {
    if (!key.is_string()) return Error(absl::StrCat(what, ": map key must be a string"));
    auto it = container.find(key.get<std::string>());
    // Docker's label maps hold strings: a missing key reads as "".
    return it == container.end() ? json("") : *it;
  }
  if (container.is_array()) {
    if (!key.is_number_integer()) return Error(absl::StrCat(what, ": index must be an integer"));
    const int64_t i = key.get<int64_t>();
    if (i < 0 || static_cast<size_t>(i) >= container.size()) {
      return Error(absl::StrCat(what, ": index out of range: ", i));
    }
    return container[static_cast<size_t>(i)];
  }
  return Error(absl::StrCat(what, ": can't index item of type ", TypeName(container)));
}

std::string StringOf(const json& v) {
  return v.is_string() ? v.get<std::string>() : GoValueString(v);
}

absl::StatusOr<int64_t> IntOf(const json& v, absl::string_view fn) {
  if (!v.is_number_integer()) return Error(absl::StrCat(fn, ": expected an integer argument"));
  return v.get<int64_t>();
}

absl::Status WantArgs(absl::string_view fn, const std::vector<json>& args, size_t want) {
  if (args.size() == want) return absl::OkStatus();
  return Error(
      absl::StrCat("wrong number of args for ", fn, ": want ", want, " got ", args.size()));
}

absl::StatusOr<json> Call(const std::string& fn, const std::vector<json>& args) {
  if (fn == "json") {
    if (absl::Status st = WantArgs(fn, args, 1); !st.ok()) return st;
    return json(args[0].dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (fn == "index") {
    if (args.empty()) return Error("wrong number of args for index: want at least 1 got 0");
    json v = args[0];
    for (size_t i = 1; i < args.size(); ++i) {
      absl::StatusOr<json> next = Index(v, args[i], "index");
      if (!next.ok()) return next.status();
      v = std::move(*next);
    }
    return v;
  }
  if (fn == "join") {
    if (absl::Status st = WantArgs(fn, args, 2); !st.ok()) return st;
    if (!args[0].is_array()) return Error("join: first argument must be a list");
    std::vector<std::string> parts;
    for (const json& e : args[0]) parts.push_back(StringOf(e));
    return json(absl::StrJoin(parts, StringOf(args[1])));
  }
  if (fn == "split") {
    if (absl::Status st = WantArgs(fn, args, 2); !st.ok()) return st;
    std::vector<std::string> parts = absl::StrSplit(StringOf(args[0]), StringOf(args[1]));
    return json(parts);
  }
  if (fn == "upper" || fn == "lower" || fn == "title") {
    if (absl::Status st = WantArgs(fn, args, 1); !st.ok()) return st;
    std::string s = StringOf(args[0]);
    if (fn == "upper") return json(absl::AsciiStrToUpper(s));
    if (fn == "lower") return json(absl::AsciiStrToLower(s));
    for (size_t i = 0; i < s.size(); ++i) {
      if (i == 0 || Space(s[i - 1])) s[i] = absl::ascii_toupper(s[i]);
    }
    return json(s);
  }
  if (fn == "truncate") {
    if (absl::Status st = WantArgs(fn, args, 2); !st.ok()) return st;
    absl::StatusOr<int64_t> n = IntOf(args[1], fn);
    if (!n.ok()) return n.status();
    const std::string s = StringOf(args[0]);
    // Whole code points, never half a UTF-8 sequence.
    size_t end = 0, points = 0;
    for (; end < s.size(); ++end) {
      if ((static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) continue;
      if (static_cast<int64_t>(points) == *n) break;
      ++points;
    }
    return json(s.substr(0, end));
  }
  if (fn == "pad") {
    if (absl::Status st = WantArgs(fn, args, 3); !st.ok()) return st;
    absl::StatusOr<int64_t> before = IntOf(args[1], fn), after = IntOf(args[2], fn);
    if (!before.ok()) return before.status();
    if (!after.ok()) return after.status();
    return json(absl::StrCat(std::string(std::max<int64_t>(*before, 0), ' '), StringOf(args[0]),
                             std::string(std::max<int64_t>(*after, 0), ' ')));
  }
  if (fn == "len") {
    if (absl::Status st = WantArgs(fn, args, 1); !st.ok()) return st;
    const json& v = args[0];
    if (v.is_string()) return json(v.get<std::string>().size());
    if (v.is_array() || v.is_object()) return json(v.size());
    return Error(absl::StrCat("len of type ", TypeName(v)));
  }
  return Error(absl::StrCat("function \"", fn, "\" not defined"));
}

absl::StatusOr<json> EvalPipeline(const Pipeline& p, const json& dot);

absl::StatusOr<json> EvalArg(const Operand& op, const json& dot) {
  switch (op.kind) {
    case Operand::Kind::kField:
      return EvalField(op.path, dot);
    case Operand::Kind::kLiteral:
      return op.literal;
    case Operand::Kind::kParen:
      return EvalPipeline(*op.sub, dot);
    case Operand::Kind::kFunction:
      return Call(op.name, {});
  }
  return Error("bad operand");
}

absl::StatusOr<json> EvalCommand(const Command& cmd, const json& dot, const json* piped) {
  std::vector<json> args;
  for (size_t i = 1; i < cmd.operands.size(); ++i) {
    absl::StatusOr<json> a = EvalArg(cmd.operands[i], dot);
    if (!a.ok()) return a.status();
    args.push_back(std::move(*a));
  }
  if (piped != nullptr) args.push_back(*piped);
  const Operand& head = cmd.operands[0];
  if (head.kind == Operand::Kind::kFunction) return Call(head.name, args);
  absl::StatusOr<json> v = EvalArg(head, dot);
  if (!v.ok() || args.empty()) return v;
  // A field given arguments indexes into its value, as Docker's {{.Label "key"}} reads.
  if (head.kind != Operand::Kind::kField) return Error("can't give argument to non-function");
  json out = std::move(*v);
  for (const json& key : args) {
    absl::StatusOr<json> next = Index(out, key, absl::StrCat("<", FieldText(head.path, 99), ">"));
    if (!next.ok()) return next.status();
    out = std::move(*next);
  }
  return out;
}

absl::StatusOr<json> EvalPipeline(const Pipeline& p, const json& dot) {
  json value;
  for (size_t i = 0; i < p.commands.size(); ++i) {
    absl::StatusOr<json> v = EvalCommand(p.commands[i], dot, i == 0 ? nullptr : &value);
    if (!v.ok()) return v.status();
    value = std::move(*v);
  }
  return value;
}

const std::vector<std::string>* FirstField(const Pipeline& p) {
  for (const Command& c : p.commands) {
    for (const Operand& op : c.operands) {
      if (op.kind == Operand::Kind::kField) return &op.path;
      if (op.kind == Operand::Kind::kParen) {
        if (const auto* f = FirstField(*op.sub)) return f;
      }
    }
  }
  return nullptr;
}

std::string FormatFloat(double d) {
  // Go's %v for float64: %g with the shortest digits, exponent form below 1e-4 or from 1e6.
  char buf[64];
  auto sci = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  const std::string s(buf, sci.ptr);
  int exp = 0;
  const size_t e = s.find('e');
  if (e != std::string::npos) absl::SimpleAtoi(s.substr(e + 1), &exp);
  if (d == 0 || (exp >= -4 && exp < 6)) {
    auto fixed = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::fixed);
    return std::string(buf, fixed.ptr);
  }
  return s;
}

}  // namespace

struct Template::Program {
  std::vector<Node> nodes;
};

const HeaderNames& ContainerHeaders() {
  static const HeaderNames* const kNames = new HeaderNames{
      {"ID", "CONTAINER ID"},      {"Image", "IMAGE"},        {"Command", "COMMAND"},
      {"CreatedAt", "CREATED AT"}, {"RunningFor", "CREATED"}, {"Ports", "PORTS"},
      {"State", "STATE"},          {"Status", "STATUS"},      {"Size", "SIZE"},
      {"Names", "NAMES"},          {"Labels", "LABELS"},      {"Label", "LABEL"},
      {"Mounts", "MOUNTS"},        {"Networks", "NETWORKS"},  {"LocalVolumes", "LOCAL VOLUMES"},
  };
  return *kNames;
}

const HeaderNames& ImageHeaders() {
  static const HeaderNames* const kNames = new HeaderNames{
      {"ID", "IMAGE ID"},
      {"Repository", "REPOSITORY"},
      {"Tag", "TAG"},
      {"Digest", "DIGEST"},
      {"CreatedSince", "CREATED"},
      {"CreatedAt", "CREATED AT"},
      {"Size", "SIZE"},
      {"Containers", "CONTAINERS"},
      {"SharedSize", "SHARED SIZE"},
      {"UniqueSize", "UNIQUE SIZE"},
      {"VirtualSize", "VIRTUAL SIZE"},
  };
  return *kNames;
}

absl::StatusOr<Template> Template::Parse(absl::string_view format,
                                         absl::string_view default_table) {
  std::string f(format);
  if (absl::StripAsciiWhitespace(f) == "json") f = "{{json .}}";
  Template t;
  if (absl::StartsWith(f, "table")) {
    t.table_ = true;
    f = f.substr(5);
    if (absl::StripAsciiWhitespace(f).empty()) {
      absl::string_view def = default_table;
      if (!absl::ConsumePrefix(&def, "table") || absl::StripAsciiWhitespace(def).empty()) {
        return absl::InvalidArgumentError("template: \"table\" needs a format for its rows");
      }
      f = std::string(def);
    }
  }
  // As Docker: surrounding spaces go, and \t, \n typed as two characters are the real thing.
  while (!f.empty() && f.front() == ' ') f.erase(0, 1);
  while (!f.empty() && f.back() == ' ') f.pop_back();
  f = absl::StrReplaceAll(f, {{"\\t", "\t"}, {"\\n", "\n"}});

  ASSIGN_OR_RETURN(std::vector<Node> nodes, ParseNodes(f));
  auto program = std::make_shared<Program>();
  program->nodes = std::move(nodes);
  t.program_ = std::move(program);
  return t;
}

absl::StatusOr<std::string> Template::Execute(const json& value) const {
  std::string out;
  for (const Node& n : program_->nodes) {
    if (n.is_text) {
      out += n.text;
      continue;
    }
    absl::StatusOr<json> v = EvalPipeline(n.pipeline, value);
    if (!v.ok()) return v.status();
    out += GoValueString(*v);
  }
  return out;
}

std::string Template::Header(const HeaderNames& names) const {
  std::string out;
  for (const Node& n : program_->nodes) {
    if (n.is_text) {
      out += n.text;
      continue;
    }
    const std::vector<std::string>* path = FirstField(n.pipeline);
    if (path == nullptr || path->empty()) continue;
    auto it = names.find(absl::StrJoin(*path, "."));
    out += it != names.end() ? it->second : HeaderFromFieldName(path->back());
  }
  return out;
}

absl::StatusOr<std::string> Render(const Template& tmpl, const std::vector<json>& items,
                                   const HeaderNames& headers) {
  std::string text;
  if (tmpl.is_table()) absl::StrAppend(&text, tmpl.Header(headers), "\n");
  for (const json& item : items) {
    absl::StatusOr<std::string> line = tmpl.Execute(item);
    if (!line.ok()) return line.status();
    absl::StrAppend(&text, *line, "\n");
  }
  return tmpl.is_table() ? AlignTabs(text, kDockerTableStyle) : text;
}

std::string GoValueString(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "<nil>";
    case json::value_t::string:
      return v.get<std::string>();
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
      return absl::StrCat(v.get<int64_t>());
    case json::value_t::number_unsigned:
      return absl::StrCat(v.get<uint64_t>());
    case json::value_t::number_float:
      return FormatFloat(v.get<double>());
    case json::value_t::array: {
      std::vector<std::string> parts;
      for (const json& e : v) parts.push_back(GoValueString(e));
      return absl::StrCat("[", absl::StrJoin(parts, " "), "]");
    }
    case json::value_t::object: {
      std::vector<std::string> parts;
      for (auto it = v.begin(); it != v.end(); ++it) {
        parts.push_back(absl::StrCat(it.key(), ":", GoValueString(it.value())));
      }
      return absl::StrCat("map[", absl::StrJoin(parts, " "), "]");
    }
    default:
      return v.dump();
  }
}

std::string HeaderFromFieldName(absl::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    if (i > 0 && absl::ascii_isupper(c)) {
      const char prev = field[i - 1];
      const bool next_lower = i + 1 < field.size() && absl::ascii_islower(field[i + 1]);
      if (absl::ascii_islower(prev) || absl::ascii_isdigit(prev) ||
          (absl::ascii_isupper(prev) && next_lower)) {
        out += ' ';
      }
    }
    out += absl::ascii_toupper(c);
  }
  return out;
}

}  // namespace berth::ctl
