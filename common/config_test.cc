#include "common/config.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

struct Sample {
  std::string root = "/var/lib/berth";
  bool debug = false;
  int64_t workers = 1;
  std::vector<std::string> services;
  std::map<std::string, std::string> remote;
  std::string grpc_address;
};

ConfigBinder Binder(Sample* s) {
  ConfigBinder b;
  b.String("root", &s->root)
      .Bool("debug", &s->debug)
      .Int("workers", &s->workers)
      .StringList("services", &s->services)
      .StringMap("remote", &s->remote)
      .Section("grpc", [s](ConfigBinder& g) { g.String("address", &s->grpc_address); });
  return b;
}

TEST(Config, FillsEveryKind) {
  Sample s;
  absl::Status st = Binder(&s).BindText("c.yaml", R"(
root: /tmp/r
debug: true
workers: 4
services: [content, images]
remote:
  tasks: unix:///run/t.sock
grpc:
  address: tcp://127.0.0.1:1
)");
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(s.root, "/tmp/r");
  EXPECT_TRUE(s.debug);
  EXPECT_EQ(s.workers, 4);
  EXPECT_EQ(s.services, (std::vector<std::string>{"content", "images"}));
  EXPECT_EQ(s.remote.at("tasks"), "unix:///run/t.sock");
  EXPECT_EQ(s.grpc_address, "tcp://127.0.0.1:1");
}

TEST(Config, EmptyDocumentKeepsDefaults) {
  Sample s;
  ASSERT_TRUE(Binder(&s).BindText("c.yaml", "").ok());
  EXPECT_EQ(s.root, "/var/lib/berth");
}

TEST(Config, UnknownKeyNamesFileLineAndKey) {
  Sample s;
  absl::Status st = Binder(&s).BindText("/etc/berth/config.yaml", "root: /x\nrooot: /y\n");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("/etc/berth/config.yaml:2: unknown key \"rooot\""), std::string::npos)
      << st;
  EXPECT_NE(st.message().find("known keys: root, debug"), std::string::npos) << st;
  EXPECT_EQ(s.root, "/var/lib/berth") << "nothing applied when the document is invalid";
}

TEST(Config, UnknownNestedKeyNamesItsFullPath) {
  Sample s;
  absl::Status st = Binder(&s).BindText("c.yaml", "grpc:\n  adress: x\n");
  EXPECT_NE(st.message().find("c.yaml:2: unknown key \"grpc.adress\""), std::string::npos) << st;
}

TEST(Config, WrongTypeNamesFileLineKeyAndWhatWasFound) {
  Sample s;
  absl::Status st = Binder(&s).BindText("c.yaml", "debug: true\nworkers: many\n");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("c.yaml:2: key \"workers\": expected an integer, got \"many\""),
            std::string::npos)
      << st;
  EXPECT_FALSE(s.debug) << "nothing applied when the document is invalid";

  st = Binder(&s).BindText("c.yaml", "root:\n  - a\n");
  EXPECT_NE(st.message().find("key \"root\": expected a string, got a list"), std::string::npos)
      << st;
  st = Binder(&s).BindText("c.yaml", "services: content\n");
  EXPECT_NE(st.message().find("expected a list of strings"), std::string::npos) << st;
}

TEST(Config, MalformedYamlSaysWhere) {
  Sample s;
  absl::Status st = Binder(&s).BindText("c.yaml", "root: [unclosed\n");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("c.yaml:"), std::string::npos) << st;
  EXPECT_NE(st.message().find("malformed YAML"), std::string::npos) << st;
}

TEST(Config, TopLevelMustBeAMapping) {
  Sample s;
  absl::Status st = Binder(&s).BindText("c.yaml", "- a\n- b\n");
  EXPECT_NE(st.message().find("the document: expected a mapping"), std::string::npos) << st;
}

TEST(Config, MissingFileIsNotFoundWithThePath) {
  Sample s;
  absl::Status st = Binder(&s).BindFile("/nonexistent/berth.yaml");
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(st.message().find("/nonexistent/berth.yaml"), std::string::npos) << st;
}

struct Plugin {
  std::string address;
  bool enabled = true;
};

ConfigBinder PluginBinder(std::map<std::string, Plugin>* out) {
  ConfigBinder b;
  b.SectionMap<Plugin>("plugins", out, [](ConfigBinder& p, Plugin& v) {
    p.String("address", &v.address).Bool("enabled", &v.enabled);
  });
  return b;
}

TEST(Config, SectionMapFillsOneStructPerName) {
  std::map<std::string, Plugin> plugins{{"old", {"x", true}}};
  absl::Status st = PluginBinder(&plugins).BindText("c.yaml", R"(
plugins:
  ext:
    address: unix:///run/ext.sock
  off: {address: unix:///run/off.sock, enabled: false}
  bare:
)");
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(plugins.size(), 3u);  // the file's map replaces the old one
  EXPECT_EQ(plugins["ext"].address, "unix:///run/ext.sock");
  EXPECT_TRUE(plugins["ext"].enabled);
  EXPECT_EQ(plugins["off"].address, "unix:///run/off.sock");
  EXPECT_FALSE(plugins["off"].enabled);
  EXPECT_EQ(plugins["bare"].address, "");  // defaults of the struct
}

TEST(Config, SectionMapErrorsNameTheEntryAndChangeNothing) {
  std::map<std::string, Plugin> plugins{{"old", {"x", true}}};
  absl::Status st = PluginBinder(&plugins).BindText("c.yaml", R"(
plugins:
  good: {address: a}
  ext:
    adress: unix:///run/ext.sock
)");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("c.yaml:5"), absl::string_view::npos) << st;
  EXPECT_NE(st.message().find("\"plugins.ext.adress\""), absl::string_view::npos) << st;
  EXPECT_NE(st.message().find("address, enabled"), absl::string_view::npos) << st;
  ASSERT_EQ(plugins.size(), 1u);
  EXPECT_EQ(plugins["old"].address, "x");

  st = PluginBinder(&plugins).BindText("c.yaml", "plugins: [a, b]\n");
  EXPECT_NE(st.message().find("expected a mapping of names to sections"), absl::string_view::npos)
      << st;
  st = PluginBinder(&plugins).BindText("c.yaml", "plugins: {ext: {enabled: maybe}}\n");
  EXPECT_NE(st.message().find("true or false"), absl::string_view::npos) << st;
  EXPECT_EQ(plugins.size(), 1u);
}

}  // namespace
}  // namespace berth
