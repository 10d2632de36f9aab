// berthd on TCP: mutual TLS is required, and a client without a certificate from the
// configured CA is turned away.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "e2e/harness/certs.h"
#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

const std::string kBerthd = Runfile("services/daemon/berthd");
const std::string kBerth = Runfile("ctl/berth");

TEST(Tls, TcpNeedsAClientCertificateFromTheConfiguredCa) {
  ShortTempDir tmp("berth-tls");
  const std::string d = tmp.path();
  const std::string config = MakeTlsFiles(d);
  const std::string addr = "tcp://127.0.0.1:" + std::to_string(FreeLoopbackPort());
  Child daemon({kBerthd, "--config", config, "--root", d + "/root", "--state", d + "/state",
                "--address", addr});

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
                "--address", "tcp://127.0.0.1:" + std::to_string(FreeLoopbackPort())});
  EXPECT_EQ(daemon.Wait(), 1);
  EXPECT_NE(daemon.Stderr().find("requires mutual TLS"), std::string::npos) << daemon.Stderr();
}

}  // namespace
}  // namespace berth::e2e
