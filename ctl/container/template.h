// `--format` for ps, inspect, images…: the part of Go's text/template that Docker users write.
//
//   {{.ID}}  {{.Config.Image}}  {{.}}             fields of a JSON object, by exact name
//   {{json .Config}}  {{index .Labels "k"}}       functions: json index join split upper
//   {{.Label "k"}}                                lower title truncate pad len; a field given
//   {{.Names | upper}}  {{join (split .A ",") ";"}}  arguments indexes into it (Docker's .Label)
//   {{/* comment */}}  {{- trim -}}               comments and whitespace trimming
//
// As in Docker, "table …" prints a header row and aligns the columns on tabs, `\t` and `\n`
// written as two characters become a tab and a newline, and "json" alone is {{json .}}.
// Control structures (if, range, with…) and variables are refused at parse time, naming them.
#ifndef BERTH_CTL_CONTAINER_TEMPLATE_H_
#define BERTH_CTL_CONTAINER_TEMPLATE_H_

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::ctl {

// A column's header by field name ("ID" → "CONTAINER ID"). A field not listed gets its name
// split into words and upper-cased ("CreatedAt" → "CREATED AT").
using HeaderNames = std::map<std::string, std::string>;

// Docker's header names for `ps` and `images` fields.
const HeaderNames& ContainerHeaders();
const HeaderNames& ImageHeaders();

// Docker's default `ps` table.
inline constexpr char kDefaultPsFormat[] =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

class Template {
 public:
  // Parses a --format value. "table" alone stands for `default_table` (a full "table …"
  // format). INVALID_ARGUMENT for syntax errors and unsupported actions, naming them.
  static absl::StatusOr<Template> Parse(absl::string_view format,
                                        absl::string_view default_table = "");

  bool is_table() const { return table_; }

  // One item's text (without a trailing newline). An unknown field is INVALID_ARGUMENT:
  // `template: at <.Foo>: map has no entry for key "Foo"`.
  absl::StatusOr<std::string> Execute(const nlohmann::json& value) const;

  // The header row of a table: each action replaced by the header of the first field it
  // uses, the text between actions kept.
  std::string Header(const HeaderNames& names) const;

  struct Program;  // the parsed actions (template.cc)

 private:
  bool table_ = false;
  std::shared_ptr<const Program> program_;
};

// Every item through the template, one per line. A table gets its header first (even with no
// items) and its columns aligned as Docker's (ctl/table.h kDockerTableStyle).
absl::StatusOr<std::string> Render(const Template& tmpl, const std::vector<nlohmann::json>& items,
                                   const HeaderNames& headers);

// The value as Go's fmt prints it in a template: strings bare, floats %g, null "<nil>",
// arrays "[a b]", objects "map[k:v]".
std::string GoValueString(const nlohmann::json& value);

// "CreatedAt" → "CREATED AT", "ID" → "ID", "LocalVolumes" → "LOCAL VOLUMES".
std::string HeaderFromFieldName(absl::string_view field);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_TEMPLATE_H_
