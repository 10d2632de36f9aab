#include "e2e/harness/certs.h"

#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

void Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace

void MakeCa(const std::string& dir, const std::string& ca) {
  Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-days", "1", "-subj", "/CN=" + ca, "-keyout", dir + "/" + ca + "-key.pem", "-out",
           dir + "/" + ca + ".pem"});
}

void MakeCert(const std::string& dir, const std::string& ca, const std::string& name) {
  const std::string ext = dir + "/" + name + ".ext";
  std::ofstream(ext) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
           "/CN=" + name, "-keyout", dir + "/" + name + "-key.pem", "-out",
           dir + "/" + name + ".csr"});
  Openssl({"x509", "-req", "-in", dir + "/" + name + ".csr", "-CA", dir + "/" + ca + ".pem",
           "-CAkey", dir + "/" + ca + "-key.pem", "-CAcreateserial", "-days", "1", "-extfile", ext,
           "-out", dir + "/" + name + ".pem"});
}

std::string MakeTlsFiles(const std::string& dir) {
  MakeCa(dir, "ca");
  MakeCert(dir, "ca", "server");
  MakeCert(dir, "ca", "client");
  MakeCa(dir, "rogue");
  MakeCert(dir, "rogue", "intruder");
  const std::string config = dir + "/config.yaml";
  std::ofstream(config) << "tls:\n  cert: " << dir << "/server.pem\n  key: " << dir
                        << "/server-key.pem\n  ca: " << dir << "/ca.pem\n";
  return config;
}

}  // namespace berth::e2e
