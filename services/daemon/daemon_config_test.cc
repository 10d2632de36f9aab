#include "services/daemon/daemon_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <vector>

#include "common/syscall.h"
#include "services/daemon/registry.h"

namespace berth::daemon {
namespace {

std::string WriteConfig(const std::string& name, const std::string& text) {
  std::string file = std::string(getenv("TEST_TMPDIR")) + "/" + name;
  EXPECT_TRUE(sys::WriteFileAtomic(file, text, 0644).ok());
  return file;
}

absl::StatusOr<DaemonConfig> Load(std::vector<const char*> args) {
  args.insert(args.begin(), "berthd");
  std::string usage;
  return LoadDaemonConfig(static_cast<int>(args.size()), args.data(), &usage);
}

TEST(DaemonConfig, DefaultsWhenTheDefaultFileIsAbsent) {
  // The default path is absent in the test sandbox; --root keeps this run off /var/lib.
  if (sys::Exists(kDefaultConfigPath)) GTEST_SKIP() << kDefaultConfigPath << " exists here";
  absl::StatusOr<DaemonConfig> c = Load({"--state", "/tmp/s"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->root, "/var/lib/berth");
  EXPECT_EQ(c->address, "unix:///tmp/s/berthd.sock");
  EXPECT_EQ(c->log_level, "info");
}

TEST(DaemonConfig, FlagsWinOverTheFile) {
  std::string file = WriteConfig("a.yaml",
                                 "root: /from/file\nstate: /file/state\nlog_level: debug\n"
                                 "address: unix:///file.sock\n");
  absl::StatusOr<DaemonConfig> c =
      Load({"--config", file.c_str(), "--root", "/from/flag", "--services", "version"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->root, "/from/flag");
  EXPECT_EQ(c->state, "/file/state");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->address, "unix:///file.sock");
  EXPECT_EQ(c->services, std::vector<std::string>{"version"});
  EXPECT_EQ(c->config_file, file);
}

TEST(DaemonConfig, MissingExplicitFileIsAnError) {
  absl::StatusOr<DaemonConfig> c = Load({"--config", "/nonexistent/berth/config.yaml"});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("/nonexistent/berth/config.yaml"), std::string::npos)
      << c.status();
}

TEST(DaemonConfig, UnknownKeyNamesFileLineAndKey) {
  std::string file = WriteConfig("b.yaml", "root: /r\nstat: /typo\n");
  absl::StatusOr<DaemonConfig> c = Load({"--config", file.c_str()});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find(file + ":2: unknown key \"stat\""), std::string::npos)
      << c.status();
}

TEST(DaemonConfig, WrongTypeNamesFileLineAndKey) {
  std::string file = WriteConfig("c.yaml", "services: version\n");
  absl::StatusOr<DaemonConfig> c = Load({"--config", file.c_str()});
  EXPECT_NE(c.status().message().find(file + ":1: key \"services\": expected a list"),
            std::string::npos)
      << c.status();
}

TEST(DaemonConfig, ValuesAreChecked) {
  EXPECT_NE(Load({"--root", "relative"}).status().message().find("root must be an absolute path"),
            std::string::npos);
  EXPECT_NE(Load({"--log-level", "chatty"}).status().message().find("unknown log level"),
            std::string::npos);
  EXPECT_NE(Load({"--address", "http://x"}).status().message().find("invalid address"),
            std::string::npos);
  EXPECT_NE(Load({"--address", "tcp://127.0.0.1:7300"}).status().message().find("mutual TLS"),
            std::string::npos);
  EXPECT_NE(Load({"--bogus"}).status().message().find("--bogus"), std::string::npos);
}

TEST(DaemonConfig, SocketGroup) {
  // A name, or a number; only for a unix socket.
  std::string file = WriteConfig("group.yaml", "socket_group: root\n");
  absl::StatusOr<DaemonConfig> c = Load({"--config", file.c_str(), "--root", "/tmp/r"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->socket_group, "root");
  EXPECT_EQ(ResolveSocketGroup("root").value_or(99), 0u);
  EXPECT_EQ(ResolveSocketGroup("4242").value_or(99), 4242u);
  EXPECT_EQ(ResolveSocketGroup("no-such-group-here").status().message(),
            "socket_group: no group named \"no-such-group-here\" (and not a number)");
  file = WriteConfig("badgroup.yaml", "socket_group: no-such-group-here\n");
  EXPECT_FALSE(Load({"--config", file.c_str(), "--root", "/tmp/r"}).ok());
  file =
      WriteConfig("tcpgroup.yaml", "socket_group: root\ntls:\n  cert: /c\n  key: /k\n  ca: /a\n");
  c = Load({"--config", file.c_str(), "--root", "/tmp/r", "--address", "tcp://127.0.0.1:1"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("socket_group applies to a unix socket"), std::string::npos)
      << c.status();
}

TEST(DaemonConfig, ProxySnapshotters) {
  absl::StatusOr<DaemonConfig> c = Load({"--config", WriteConfig("proxy.yaml", R"(
proxy_snapshotters:
  ext: {address: unix:///run/ext.sock}
  other:
    address: unix:///run/other.sock
)")
                                                         .c_str()});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->proxy_snapshotters.size(), 2u);
  EXPECT_EQ(c->proxy_snapshotters["ext"].address, "unix:///run/ext.sock");
  EXPECT_EQ(c->proxy_snapshotters["other"].address, "unix:///run/other.sock");

  auto error = [](const std::string& yaml) {
    return std::string(
        Load({"--config", WriteConfig("bad.yaml", yaml).c_str()}).status().message());
  };
  EXPECT_NE(error("proxy_snapshotters: {native: {address: unix:///x}}").find("built-in"),
            std::string::npos);
  EXPECT_NE(
      error("proxy_snapshotters: {ext: {}}").find("proxy_snapshotters.ext.address is required"),
      std::string::npos);
  EXPECT_NE(error("proxy_snapshotters: {ext: {address: tcp://1.2.3.4:5}}").find("unix:///PATH"),
            std::string::npos);
  EXPECT_NE(error("proxy_snapshotters: {ext: {adress: unix:///x}}")
                .find("unknown key \"proxy_snapshotters.ext.adress\""),
            std::string::npos);
}

TEST(DaemonConfig, ServiceSelectionIsChecked) {
  DaemonConfig c;
  c.services = {"version", "teleport"};
  EXPECT_NE(ValidateServiceSelection(c).message().find("unknown service \"teleport\""),
            std::string::npos);
  c.services = {"version"};
  c.remote = {{"version", "unix:///x.sock"}};
  EXPECT_NE(ValidateServiceSelection(c).message().find("both hosted here"), std::string::npos);
  c.remote = {{"introspection", "unix:///x.sock"}};
  EXPECT_TRUE(ValidateServiceSelection(c).ok());
}

TEST(DaemonConfig, RegistryKeys) {
  std::string file = WriteConfig("registries.yaml",
                                 "registry_mirrors: [\"https://mirror.example.com\"]\n"
                                 "insecure_registries: [\"reg.lan:5000\", \"10.0.0.0/8\"]\n"
                                 "registry_certs_dir: /tmp/certs.d\n"
                                 "max_concurrent_downloads: 5\n");
  absl::StatusOr<DaemonConfig> c = Load({"--config", file.c_str()});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->registry_mirrors, std::vector<std::string>{"https://mirror.example.com"});
  EXPECT_EQ(c->insecure_registries, (std::vector<std::string>{"reg.lan:5000", "10.0.0.0/8"}));
  EXPECT_EQ(c->registry_certs_dir, "/tmp/certs.d");
  EXPECT_EQ(c->max_concurrent_downloads, 5);
  EXPECT_EQ(c->max_concurrent_uploads, 3);

  for (const char* bad : {"registry_mirrors: [\"mirror.example.com\"]\n",
                          "registry_certs_dir: certs.d\n", "max_concurrent_downloads: 0\n"}) {
    file = WriteConfig("bad-registries.yaml", bad);
    c = Load({"--config", file.c_str()});
    EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << bad << ": " << c.status();
  }
}

TEST(DaemonConfig, IngestExpiry) {
  std::string file = WriteConfig("expiry.yaml", "ingest_expiry: 90m\n");
  absl::StatusOr<DaemonConfig> c = Load({"--config", file.c_str()});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ingest_expiry, "90m");
  EXPECT_EQ(DaemonConfig().ingest_expiry, "24h");
  for (const char* bad : {"ingest_expiry: 3 days\n", "ingest_expiry: -1s\n"}) {
    file = WriteConfig("bad-expiry.yaml", bad);
    c = Load({"--config", file.c_str()});
    EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << bad << ": " << c.status();
    EXPECT_NE(c.status().message().find("ingest_expiry"), std::string::npos) << c.status();
  }
}

TEST(DaemonConfig, RuntimeTimeout) {
  EXPECT_EQ(DaemonConfig().runtime_timeout, "60s");
  std::string file = WriteConfig("timeout.yaml", "runtime_timeout: 2m30s\n");
  absl::StatusOr<DaemonConfig> c = Load({"--config", file.c_str()});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->runtime_timeout, "2m30s");
  for (const char* bad : {"runtime_timeout: 0\n", "runtime_timeout: 0s\n", "runtime_timeout: -5s\n",
                          "runtime_timeout: 90\n", "runtime_timeout: soon\n"}) {
    file = WriteConfig("bad-timeout.yaml", bad);
    c = Load({"--config", file.c_str()});
    EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << bad << ": " << c.status();
    EXPECT_NE(c.status().message().find("runtime_timeout"), std::string::npos) << c.status();
  }
}

}  // namespace
}  // namespace berth::daemon
