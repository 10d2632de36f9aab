#include "ctl/container/template.h"

#include <gtest/gtest.h>

namespace berth::ctl {
namespace {

using json = nlohmann::json;

const json kContainer = {
    {"ID", "0123456789ab"},
    {"Names", "brisk_noether"},
    {"Image", "busybox"},
    {"Status", "Up 3 minutes"},
    {"Labels", {{"com.example.app", "web"}, {"tier", "front"}}},
    {"Label", {{"com.example.app", "web"}}},
    {"Config", {{"Image", "busybox:latest"}, {"Cmd", {"sh", "-c", "echo hi"}}, {"Tty", false}}},
    {"State", {{"Pid", 4242}, {"ExitCode", 0}, {"Health", nullptr}}},
    {"Ports", ""},
};

std::string Exec(absl::string_view format, const json& value = kContainer) {
  absl::StatusOr<Template> t = Template::Parse(format);
  if (!t.ok()) return absl::StrCat("PARSE ERROR: ", t.status().message());
  absl::StatusOr<std::string> out = t->Execute(value);
  if (!out.ok()) return absl::StrCat("ERROR: ", out.status().message());
  return *out;
}

TEST(Template, Fields) {
  EXPECT_EQ(Exec("{{.ID}}"), "0123456789ab");
  EXPECT_EQ(Exec("{{.Config.Image}}"), "busybox:latest");
  EXPECT_EQ(Exec("{{ .Names }} is {{.Status}}"), "brisk_noether is Up 3 minutes");
  EXPECT_EQ(Exec("{{.State.Pid}}"), "4242");
  EXPECT_EQ(Exec("{{.Config.Tty}}"), "false");
  EXPECT_EQ(Exec("{{.State.Health}}"), "<nil>");
  EXPECT_EQ(Exec("plain text"), "plain text");
  EXPECT_EQ(Exec("{{.}}", json("x")), "x");
}

TEST(Template, GoValuePrinting) {
  EXPECT_EQ(Exec("{{.Config.Cmd}}"), "[sh -c echo hi]");
  EXPECT_EQ(Exec("{{.Labels}}"), "map[com.example.app:web tier:front]");
  EXPECT_EQ(GoValueString(json(3.5)), "3.5");
  EXPECT_EQ(GoValueString(json(3.0)), "3");
  EXPECT_EQ(GoValueString(json(123456.0)), "123456");
  EXPECT_EQ(GoValueString(json(1e6)), "1e+06");
  EXPECT_EQ(GoValueString(json(1234567.0)), "1.234567e+06");
  EXPECT_EQ(GoValueString(json(0.0001)), "0.0001");
  EXPECT_EQ(GoValueString(json(0.00001)), "1e-05");
  EXPECT_EQ(GoValueString(json(uint64_t{18446744073709551615u})), "18446744073709551615");
}

TEST(Template, Json) {
  EXPECT_EQ(Exec("{{json .Labels}}"), R"({"com.example.app":"web","tier":"front"})");
  EXPECT_EQ(Exec("{{json .Config.Cmd}}"), R"(["sh","-c","echo hi"])");
  EXPECT_EQ(Exec("{{json .ID}}"), R"("0123456789ab")");
  EXPECT_EQ(Exec("{{json .}}", json{{"a", "<&>"}}), R"({"a":"<&>"})");
  EXPECT_EQ(Exec("json", json{{"a", 1}}), R"({"a":1})");
}

TEST(Template, IndexAndLabelCalls) {
  EXPECT_EQ(Exec(R"({{index .Labels "tier"}})"), "front");
  EXPECT_EQ(Exec(R"({{index .Labels "missing"}})"), "");
  EXPECT_EQ(Exec(R"({{index .Config.Cmd 2}})"), "echo hi");
  EXPECT_EQ(Exec(R"({{index .Config.Cmd 3}})"), "ERROR: template: index: index out of range: 3");
  EXPECT_EQ(Exec(R"({{.Label "com.example.app"}})"), "web");
  EXPECT_EQ(Exec(R"({{.Label "nope"}})"), "");
}

TEST(Template, FunctionsAndPipelines) {
  EXPECT_EQ(Exec("{{.Names | upper}}"), "BRISK_NOETHER");
  EXPECT_EQ(Exec("{{lower .Image}}"), "busybox");
  EXPECT_EQ(Exec(R"({{join .Config.Cmd ","}})"), "sh,-c,echo hi");
  EXPECT_EQ(Exec(R"({{join (split .Names "_") "-"}})"), "brisk-noether");
  EXPECT_EQ(Exec(R"({{title "hello world"}})"), "Hello World");
  EXPECT_EQ(Exec("{{truncate .ID 4}}"), "0123");
  EXPECT_EQ(Exec("{{pad .Image 1 2}}|"), " busybox  |");
  EXPECT_EQ(Exec("{{len .Config.Cmd}}"), "3");
  EXPECT_EQ(Exec("{{.Names | printf}}"), "ERROR: template: function \"printf\" not defined");
  EXPECT_EQ(Exec("{{join .Image}}"),
            "ERROR: template: wrong number of args for join: want 2 got 1");
}

TEST(Template, UnknownFieldsAreNamed) {
  EXPECT_EQ(Exec("{{.Nope}}"), "ERROR: template: at <.Nope>: map has no entry for key \"Nope\"");
  EXPECT_EQ(Exec("{{.Config.Nope}}"),
            "ERROR: template: at <.Config.Nope>: map has no entry for key \"Nope\"");
  EXPECT_EQ(Exec("{{.ID.X}}"),
            "ERROR: template: at <.ID.X>: can't evaluate field X in type string");
  // Field names are exact, as Go's.
  EXPECT_EQ(Exec("{{.id}}"), "ERROR: template: at <.id>: map has no entry for key \"id\"");
}

TEST(Template, SyntaxErrors) {
  EXPECT_EQ(Exec("{{.ID"), "PARSE ERROR: template: unclosed action");
  EXPECT_EQ(Exec("{{}}"), "PARSE ERROR: template: missing value for command");
  EXPECT_EQ(Exec("{{range .Names}}{{.}}{{end}}"),
            "PARSE ERROR: template: \"range\" is not supported in --format");
  EXPECT_EQ(Exec("{{if .ID}}x{{end}}"),
            "PARSE ERROR: template: \"if\" is not supported in --format");
  EXPECT_EQ(Exec("{{$x := .ID}}"),
            "PARSE ERROR: template: variables are not supported in --format");
  EXPECT_EQ(Exec(R"({{index .Labels "tier}})"),
            "PARSE ERROR: template: unterminated quoted string");
  EXPECT_EQ(Exec("{{(.ID}}"), "PARSE ERROR: template: unclosed left paren");
  EXPECT_EQ(Exec("{{.ID |}}"), "PARSE ERROR: template: missing value for command");
}

TEST(Template, CommentsTrimAndEscapes) {
  EXPECT_EQ(Exec("a {{/* note */}}b"), "a b");
  EXPECT_EQ(Exec("a   {{- .Image -}}   b"), "abusyboxb");
  EXPECT_EQ(Exec("a {{- /* gone */ -}} b"), "ab");
  EXPECT_EQ(Exec(R"({{.ID}}\t{{.Image}}\n)"), "0123456789ab\tbusybox\n");
  EXPECT_EQ(Exec("  {{.Image}}  "), "busybox");
  EXPECT_EQ(Exec("{{\"}}\"}}"), "}}");
  EXPECT_EQ(Exec("{{`raw \"q\"`}}"), "raw \"q\"");
  // As Docker: \t and \n are replaced before parsing, inside literals too.
  EXPECT_EQ(Exec("{{`a\\tb`}}"), "a\tb");
}

TEST(Template, TableHeaderUsesDockerNames) {
  absl::StatusOr<Template> t = Template::Parse(R"(table {{.ID}}\t{{.Names}}\t{{.RunningFor}})");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->is_table());
  EXPECT_EQ(t->Header(ContainerHeaders()), "CONTAINER ID\tNAMES\tCREATED");
  t = Template::Parse(R"(table {{.ID}}: {{json .Labels}} {{.CreatedAt}} {{.Names | upper}})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Header(ContainerHeaders()), "CONTAINER ID: LABELS CREATED AT NAMES");
  EXPECT_EQ(t->Header(ImageHeaders()), "IMAGE ID: LABELS CREATED AT NAMES");
  t = Template::Parse("table {{.LocalVolumes}} {{.Config.ExposedPorts}} {{.imageID}}");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Header({}), "LOCAL VOLUMES EXPOSED PORTS IMAGE ID");
}

TEST(Template, RenderTableAlignsAsDocker) {
  absl::StatusOr<Template> t = Template::Parse(R"(table {{.ID}}\t{{.Image}}\t{{.Names}})");
  ASSERT_TRUE(t.ok());
  std::vector<json> items = {{{"ID", "0123456789ab"}, {"Image", "busybox"}, {"Names", "a_b"}},
                             {{"ID", "ba9876543210"}, {"Image", "alpine:3"}, {"Names", "c_d"}}};
  absl::StatusOr<std::string> out = Render(*t, items, ContainerHeaders());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out,
            "CONTAINER ID   IMAGE      NAMES\n"
            "0123456789ab   busybox    a_b\n"
            "ba9876543210   alpine:3   c_d\n");
  // No items: still the header.
  out = Render(*t, {}, ContainerHeaders());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "CONTAINER ID   IMAGE     NAMES\n");
}

TEST(Template, RenderPlainIsOneLinePerItemUnaligned) {
  absl::StatusOr<Template> t = Template::Parse(R"({{.ID}}\t{{.Names}})");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->is_table());
  absl::StatusOr<std::string> out =
      Render(*t, {{{"ID", "a"}, {"Names", "x"}}, {{"ID", "bbbb"}, {"Names", "y"}}}, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "a\tx\nbbbb\ty\n");
  // An error in any item is the result.
  EXPECT_FALSE(Render(*t, {json::object()}, {}).ok());
}

TEST(Template, TableAloneMeansTheDefault) {
  absl::StatusOr<Template> t = Template::Parse("table", kDefaultPsFormat);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Header(ContainerHeaders()),
            "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES");
  EXPECT_FALSE(Template::Parse("table").ok());
}

TEST(Template, HeaderFromFieldName) {
  EXPECT_EQ(HeaderFromFieldName("CreatedAt"), "CREATED AT");
  EXPECT_EQ(HeaderFromFieldName("ID"), "ID");
  EXPECT_EQ(HeaderFromFieldName("LocalVolumes"), "LOCAL VOLUMES");
  EXPECT_EQ(HeaderFromFieldName("HTTPServer"), "HTTP SERVER");
  EXPECT_EQ(HeaderFromFieldName("name"), "NAME");
}

}  // namespace
}  // namespace berth::ctl
