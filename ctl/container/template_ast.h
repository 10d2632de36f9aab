// The syntax tree of a --format template and its parser (template_parse.cc), shared with the
// evaluator (template.cc). Internal to //ctl/container:template.
#ifndef BERTH_CTL_CONTAINER_TEMPLATE_AST_H_
#define BERTH_CTL_CONTAINER_TEMPLATE_AST_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::ctl::template_internal {

struct Pipeline;

struct Operand {
  enum class Kind { kField, kFunction, kLiteral, kParen };
  Kind kind = Kind::kLiteral;
  std::vector<std::string> path;  // kField; empty for "."
  std::string name;               // kFunction
  nlohmann::json literal;         // kLiteral
  std::shared_ptr<Pipeline> sub;  // kParen
};

struct Command {
  std::vector<Operand> operands;
};

struct Pipeline {
  std::vector<Command> commands;
};

struct Node {
  bool is_text = true;
  std::string text;
  Pipeline pipeline;
};

// "template: <message>", INVALID_ARGUMENT.
absl::Status Error(absl::string_view message);

// Splits a template (already stripped of "table" and with \t, \n replaced) into text and
// actions, honouring comments and {{- -}} trimming.
absl::StatusOr<std::vector<Node>> ParseNodes(absl::string_view text);

}  // namespace berth::ctl::template_internal

#endif  // BERTH_CTL_CONTAINER_TEMPLATE_AST_H_
