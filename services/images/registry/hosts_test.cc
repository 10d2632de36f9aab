#include "services/images/registry/hosts.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/syscall.h"

namespace berth::registry {
namespace {

TEST(Hosts, DockerHubGoesToMirrorsThenRegistry1) {
  HostsConfig c{.mirrors = {"https://mirror.example.com/", "http://10.1.2.3:5000/prefix"},
                .insecure = {},
                .certs_dir = ""};
  auto e = EndpointsFor(c, "docker.io", false, false);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->size(), 3u);
  EXPECT_EQ((*e)[0].Base(), "https://mirror.example.com");
  EXPECT_TRUE((*e)[0].mirror);
  EXPECT_TRUE((*e)[0].fallback_on_error);
  EXPECT_EQ((*e)[1].Base(), "http://10.1.2.3:5000/prefix");
  EXPECT_EQ((*e)[2].Base(), "https://registry-1.docker.io");
  EXPECT_TRUE((*e)[2].tls.verify);
  EXPECT_FALSE((*e)[2].fallback_on_error);
}

TEST(Hosts, MirrorsOnlyForDockerHub) {
  HostsConfig c{.mirrors = {"https://m.example.com"}, .insecure = {}, .certs_dir = ""};
  auto e = EndpointsFor(c, "quay.io", false, false);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].Base(), "https://quay.io");
}

TEST(Hosts, BadMirrorIsRefused) {
  HostsConfig c{.mirrors = {"ftp://x"}, .insecure = {}, .certs_dir = ""};
  EXPECT_TRUE(absl::IsInvalidArgument(EndpointsFor(c, "docker.io", false, false).status()));
  EXPECT_FALSE(ValidateMirror("https://").ok());
  EXPECT_FALSE(ValidateMirror("https://a?b").ok());
  EXPECT_TRUE(ValidateMirror("http://a:5000").ok());
}

TEST(Hosts, LoopbackTriesVerifiedHttpsThenPlainHttp) {
  HostsConfig c{.mirrors = {}, .insecure = {}, .certs_dir = ""};
  for (const char* d : {"localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000"}) {
    auto e = EndpointsFor(c, d, false, false);
    ASSERT_TRUE(e.ok());
    ASSERT_EQ(e->size(), 2u) << d;
    EXPECT_EQ((*e)[0].scheme, "https");
    EXPECT_TRUE((*e)[0].tls.verify);
    EXPECT_TRUE((*e)[0].fallback_on_error);
    EXPECT_EQ((*e)[1].scheme, "http");
    EXPECT_EQ((*e)[1].host, d);
  }
}

TEST(Hosts, InsecureSkipsVerificationAndFallsBack) {
  HostsConfig c{.mirrors = {}, .insecure = {"reg.example.com:5000", "10.0.0.0/8"}, .certs_dir = ""};
  auto e = EndpointsFor(c, "reg.example.com:5000", false, false);
  ASSERT_EQ(e->size(), 2u);
  EXPECT_FALSE((*e)[0].tls.verify);
  EXPECT_EQ((*e)[1].Base(), "http://reg.example.com:5000");
  EXPECT_TRUE(IsInsecure(c.insecure, "10.9.8.7:443"));
  EXPECT_FALSE(IsInsecure(c.insecure, "11.0.0.1"));
  EXPECT_FALSE(IsInsecure(c.insecure, "reg.example.com"));
  e = EndpointsFor(c, "secure.example.com", false, false);
  ASSERT_EQ(e->size(), 1u);
  EXPECT_TRUE((*e)[0].tls.verify);
}

TEST(Hosts, RequestOverrides) {
  HostsConfig c{.mirrors = {}, .insecure = {}, .certs_dir = ""};
  auto e = EndpointsFor(c, "r.example.com", true, false);
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].Base(), "http://r.example.com");
  e = EndpointsFor(c, "r.example.com", false, true);
  ASSERT_EQ(e->size(), 2u);
  EXPECT_FALSE((*e)[0].tls.verify);
}

TEST(Hosts, CertsDirGivesCasAndClientPair) {
  char tmpl[] = "/tmp/berth-certsd-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  ASSERT_TRUE(sys::MkdirAll(dir + "/reg.example.com:5000", 0755).ok());
  ASSERT_TRUE(sys::WriteFileAtomic(dir + "/reg.example.com:5000/ca.crt", "CA-PEM", 0644).ok());
  ASSERT_TRUE(sys::WriteFileAtomic(dir + "/reg.example.com:5000/client.cert", "C", 0644).ok());
  ASSERT_TRUE(sys::WriteFileAtomic(dir + "/reg.example.com:5000/client.key", "K", 0600).ok());
  HostsConfig c{.mirrors = {}, .insecure = {}, .certs_dir = dir};
  auto e = EndpointsFor(c, "reg.example.com:5000", false, false);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)[0].tls.ca_pem, "CA-PEM\n");
  EXPECT_EQ((*e)[0].tls.client_cert, dir + "/reg.example.com:5000/client.cert");
  EXPECT_EQ((*e)[0].tls.client_key, dir + "/reg.example.com:5000/client.key");
  // Another host's directory is not read.
  e = EndpointsFor(c, "reg.example.com", false, false);
  EXPECT_TRUE((*e)[0].tls.ca_pem.empty());
  // A certificate without its key is an error naming both.
  ASSERT_TRUE(sys::Unlink(dir + "/reg.example.com:5000/client.key").ok());
  auto bad = EndpointsFor(c, "reg.example.com:5000", false, false);
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status()));
  EXPECT_NE(bad.status().message().find("client.key"), std::string::npos) << bad.status();
  EXPECT_EQ(std::system(("rm -rf " + dir).c_str()), 0);
}

}  // namespace
}  // namespace berth::registry
