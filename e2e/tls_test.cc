// berthd on TCP: mutual TLS is required, and a client without a certificate from the
// configured CA is turned away.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

const std::string kBerthd = Runfile("services/daemon/berthd");
const std::string kBerth = Runfile("ctl/berth");

// Asks the kernel for a free loopback port.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  close(fd);
  return ntohs(sa.sin_port);
}

void Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// A CA, and a certificate signed by it for `name` (with 127.0.0.1 as a SAN).
void MakeCa(const std::string& dir, const std::string& ca) {
  Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-days", "1", "-subj", "/CN=" + ca, "-keyout", dir + "/" + ca + "-key.pem", "-out",
           dir + "/" + ca + ".pem"});
}

void MakeCert(const std::string& dir, const std::string& ca, const std::string& name) {
  std::string ext = dir + "/" + name + ".ext";
  std::ofstream(ext) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
           "/CN=" + name, "-keyout", dir + "/" + name + "-key.pem", "-out",
           dir + "/" + name + ".csr"});
  Openssl({"x509", "-req", "-in", dir + "/" + name + ".csr", "-CA", dir + "/" + ca + ".pem",
           "-CAkey", dir + "/" + ca + "-key.pem", "-CAcreateserial", "-days", "1", "-extfile", ext,
           "-out", dir + "/" + name + ".pem"});
}

TEST(Tls, TcpNeedsAClientCertificateFromTheConfiguredCa) {
  ShortTempDir tmp("berth-tls");
  const std::string d = tmp.path();
  MakeCa(d, "ca");
  MakeCert(d, "ca", "server");
  MakeCert(d, "ca", "client");
  MakeCa(d, "rogue");
  MakeCert(d, "rogue", "intruder");

  const std::string addr = "tcp://127.0.0.1:" + std::to_string(FreePort());
  std::ofstream(d + "/config.yaml") << "tls:\n  cert: " << d << "/server.pem\n  key: " << d
                                    << "/server-key.pem\n  ca: " << d << "/ca.pem\n";
  Child daemon({kBerthd, "--config", d + "/config.yaml", "--root", d + "/root", "--state",
                d + "/state", "--address", addr});

  auto berth = [&](const std::string& cert) {
    return RunCommand({kBerth, "-H", addr, "--tlscacert", d + "/ca.pem", "--tlscert",
                       d + "/" + cert + ".pem", "--tlskey", d + "/" + cert + "-key.pem",
                       "version"});
  };
  CommandResult ok;
  for (int i = 0; i < 100; ++i) {  // until the daemon listens
    ok = berth("client");
    if (ok.exit_code == 0 || !daemon.Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(ok.exit_code, 0) << ok.err << daemon.Stderr();
  EXPECT_NE(ok.out.find("Server:"), std::string::npos);

  CommandResult rogue = berth("intruder");
  EXPECT_EQ(rogue.exit_code, 125);
  EXPECT_EQ(rogue.out.find("Server:"), std::string::npos);

  EXPECT_EQ(daemon.Stop(SIGTERM), 0) << daemon.Stderr();
}

TEST(Tls, TcpWithoutTlsIsRefusedAtStart) {
  ShortTempDir tmp("berth-tls");
  Child daemon({kBerthd, "--root", tmp.path() + "/root", "--state", tmp.path() + "/state",
                "--address", "tcp://127.0.0.1:" + std::to_string(FreePort())});
  EXPECT_EQ(daemon.Wait(), 1);
  EXPECT_NE(daemon.Stderr().find("requires mutual TLS"), std::string::npos) << daemon.Stderr();
}

}  // namespace
}  // namespace berth::e2e
