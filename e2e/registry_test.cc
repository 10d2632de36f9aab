// Pull and push end to end: the real berthd and berth CLI against Debian's docker-registry on
// 127.0.0.1, over plain HTTP, over TLS with a CA and client certificate made here (certs.d),
// and behind htpasswd Basic auth; digests checked against what skopeo reads from the same
// registry. A test proxy (e2e/fixtures/registry_proxy.py) slows blobs down so a pull can be
// cut midway by stopping the registry, and corrupts a blob so the pull must refuse it.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "berth/services/images/v1/images.grpc.pb.h"
#include "e2e/harness/daemon.h"
#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

namespace ipb = berth::services::images::v1;
using nlohmann::json;

const std::string kBerth = Runfile("ctl/berth");
const std::string kMakeImage = Runfile("e2e/fixtures/make_oci_image.py");
const std::string kMakeLarge = Runfile("e2e/fixtures/make_large_image.py");
const std::string kProxy = Runfile("e2e/fixtures/registry_proxy.py");
const std::string kTokenServer = Runfile("e2e/fixtures/token_server.py");
constexpr char kRegistryBin[] = "/usr/bin/docker-registry";
constexpr char kSkopeo[] = "/usr/bin/skopeo";

bool Has(const char* bin) { return access(bin, X_OK) == 0; }

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Debian's docker-registry on 127.0.0.1:<port>, storing under `dir`. `http_extra` and `auth`
// are YAML lines added under http: and at the top level.
class Registry {
 public:
  Registry(const std::string& dir, const std::string& http_extra = "", const std::string& auth = "")
      : port_(FreeLoopbackPort()), config_(dir + "/registry.yml") {
    WriteFile(config_,
              "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
              "    rootdirectory: " +
                  dir +
                  "/storage\n  delete:\n    enabled: true\n"
                  "http:\n  addr: 127.0.0.1:" +
                  std::to_string(port_) + "\n" + http_extra + auth);
    EXPECT_TRUE(Start()) << Stderr();
  }

  bool Start() {
    child_ = std::make_unique<Child>(std::vector<std::string>{kRegistryBin, "serve", config_});
    for (int i = 0; i < 200; ++i) {
      if (LoopbackPortAnswers(port_)) return true;
      if (!child_->Running()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void Stop() { child_->Stop(15); }
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Stderr() const { return child_ ? child_->Stderr() : ""; }

 private:
  const int port_;
  const std::string config_;
  std::unique_ptr<Child> child_;
};

// registry_proxy.py in front of `upstream_port`.
class Proxy {
 public:
  Proxy(const std::string& dir, int upstream_port, std::vector<std::string> flags,
        const std::string& name = "proxy")
      : log_(dir + "/" + name + ".log") {
    const std::string port_file = dir + "/" + name + ".port";
    std::vector<std::string> argv = {
        "/usr/bin/python3", kProxy, port_file, std::to_string(upstream_port), "--log", log_};
    argv.insert(argv.end(), flags.begin(), flags.end());
    child_ = std::make_unique<Child>(argv);
    EXPECT_TRUE(WaitForPath(port_file, *child_)) << child_->Stderr();
    port_ = std::atoi(ReadWholeFile(port_file).c_str());
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return ReadWholeFile(log_); }

 private:
  const std::string log_;
  int port_ = 0;
  std::unique_ptr<Child> child_;
};

struct Daemon : TestDaemon {
  explicit Daemon(const std::string& config) : TestDaemon({"--config", config}) {
    EXPECT_TRUE(started()) << Stderr();
  }

  // berth with the credentials file `auth` (BERTH_AUTH_CONFIG).
  CommandResult Berth(std::vector<std::string> args, const std::string& auth = "/nonexistent") {
    std::vector<std::string> argv = {"/usr/bin/env", "BERTH_AUTH_CONFIG=" + auth, kBerth, "-H",
                                     "unix://" + socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  std::map<std::string, std::string> Images() {
    auto stub = ipb::Images::NewStub(Channel());
    ipb::ListImagesResponse resp;
    grpc::Status st = stub->List(Context().get(), {}, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::map<std::string, std::string> out;
    for (const auto& i : resp.images()) out[i.name()] = i.target().digest();
    return out;
  }

  bool BlobOnDisk(const std::string& digest) {
    struct stat st;
    return stat((root() + "/content/blobs/sha256/" + digest.substr(7)).c_str(), &st) == 0;
  }
  int BlobCount() {
    CommandResult r =
        RunCommand({"/bin/sh", "-c", "ls " + root() + "/content/blobs/sha256 | wc -l"});
    return std::atoi(r.out.c_str());
  }
};

// A daemon config with berth-shim and berth-runtime from the runfiles and certs.d in `dir`.
std::string DaemonConfig(const std::string& dir) {
  const std::string file = dir + "/berthd.yaml";
  WriteFile(file, "shim: " + Runfile("shim/berth-shim") +
                      "\nruntimes:\n  berth-runtime: " + Runfile("runtime/berth-runtime") +
                      "\nregistry_certs_dir: " + dir + "/certs.d\n");
  return file;
}

std::string PushedDigest(const std::string& out) {
  const size_t at = out.find("digest: sha256:");
  if (at == std::string::npos) return "";
  return out.substr(at + 8, 71);
}

// What skopeo reads from the registry for `ref`: the manifest digest.
std::string SkopeoDigest(const std::string& ref, std::vector<std::string> flags = {}) {
  std::vector<std::string> argv = {kSkopeo, "inspect", "--raw"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back("docker://" + ref);
  CommandResult r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // --raw prints the manifest as stored: its sha256 is the digest the registry serves.
  const std::string file = MakeTempDir("raw") + "/manifest";
  WriteFile(file, r.out);
  CommandResult sum = RunCommand({"/usr/bin/sha256sum", file});
  return "sha256:" + sum.out.substr(0, 64);
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Has(kRegistryBin)) {
      GTEST_SKIP() << kRegistryBin << " is missing: scripts/install-deps.sh installs it";
    }
    dir_ = MakeTempDir("registry");
    daemon_ = std::make_unique<Daemon>(DaemonConfig(dir_));
  }

  // Loads make_oci_image.py's busybox under `name`; returns the archive's manifest digest.
  std::string LoadBusybox(const std::string& name) {
    const std::string archive = dir_ + "/busybox.tar";
    CommandResult r = RunCommand({"/usr/bin/python3", kMakeImage, archive, name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = daemon_->Berth({"load", "-q", "-i", archive});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return daemon_->Images()[name];
  }

  std::string dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(RegistryTest, PushRemovePullAndRunOverPlainHttp) {
  Registry reg(dir_);
  const std::string name = reg.host() + "/busybox:e2e";
  LoadBusybox(name);
  const std::string local = daemon_->Images().at(name);

  CommandResult push = daemon_->Berth({"push", name});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.out.find("The push refers to repository [" + reg.host() + "/busybox]"),
            std::string::npos)
      << push.out;
  EXPECT_NE(push.out.find(": Pushed\n"), std::string::npos) << push.out;
  const std::string digest = PushedDigest(push.out);
  EXPECT_EQ(digest, local) << push.out;
  EXPECT_NE(push.out.find("e2e: digest: " + digest + " size: "), std::string::npos);
  if (Has(kSkopeo)) {
    EXPECT_EQ(SkopeoDigest(name, {"--tls-verify=false"}), digest);
  }
  push = daemon_->Berth({"push", name});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.out.find(": Layer already exists\n"), std::string::npos) << push.out;

  ASSERT_EQ(daemon_->Berth({"rmi", name}).exit_code, 0);
  EXPECT_FALSE(daemon_->BlobOnDisk(digest));

  CommandResult pull = daemon_->Berth({"pull", name});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.out.find("e2e: Pulling from busybox\n"), std::string::npos) << pull.out;
  EXPECT_NE(pull.out.find(": Pull complete\n"), std::string::npos) << pull.out;
  EXPECT_NE(pull.out.find("Digest: " + digest + "\n"), std::string::npos) << pull.out;
  EXPECT_NE(pull.out.find("Status: Downloaded newer image for " + name + "\n"), std::string::npos)
      << pull.out;
  EXPECT_EQ(daemon_->Images().at(name), digest);

  CommandResult run = daemon_->Berth({"run", "--rm", name, "echo", "pulled and running"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "pulled and running\n");

  pull = daemon_->Berth({"pull", name});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.out.find(": Already exists\n"), std::string::npos) << pull.out;
  EXPECT_NE(pull.out.find("Status: Image is up to date for " + name + "\n"), std::string::npos)
      << pull.out;

  // By digest, and quietly: only the name.
  const std::string by_digest = reg.host() + "/busybox@" + digest;
  pull = daemon_->Berth({"pull", "-q", by_digest});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(pull.out, by_digest + "\n");
  EXPECT_EQ(daemon_->Images().at(by_digest), digest);
}

TEST_F(RegistryTest, UnknownImageUnknownTagAndRegistryDownAreClear) {
  Registry reg(dir_);
  const std::string name = reg.host() + "/busybox:e2e";
  LoadBusybox(name);
  ASSERT_EQ(daemon_->Berth({"push", name}).exit_code, 0);

  CommandResult r = daemon_->Berth({"pull", reg.host() + "/nothing-here"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("manifest for " + reg.host() + "/nothing-here:latest not found"),
            std::string::npos)
      << r.err;
  r = daemon_->Berth({"pull", reg.host() + "/busybox:no-such-tag"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("manifest for " + reg.host() +
                       "/busybox:no-such-tag not found: manifest "
                       "unknown"),
            std::string::npos)
      << r.err;
  r = daemon_->Berth({"push", reg.host() + "/not-local:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;

  reg.Stop();
  r = daemon_->Berth({"pull", reg.host() + "/busybox:e2e"});
  EXPECT_EQ(r.exit_code, 125);  // UNAVAILABLE, as for the daemon itself
  EXPECT_NE(r.err.find("cannot reach the registry " + reg.host()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Connection refused"), std::string::npos) << r.err;
  r = daemon_->Berth({"push", name});
  EXPECT_NE(r.err.find("cannot reach the registry " + reg.host()), std::string::npos) << r.err;
  // Nothing was named by the failed pulls.
  EXPECT_EQ(daemon_->Images().size(), 1u);
}

TEST_F(RegistryTest, MultiPlatformIndexIsPushedWholeAndPulledPerPlatform) {
  Registry reg(dir_);
  const std::string name = reg.host() + "/multi:1";
  const std::string archive = dir_ + "/multi.tar";
  CommandResult r = RunCommand({"/usr/bin/python3", kMakeLarge, archive, name, "--size-mib", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json digests = json::parse(r.out);
  ASSERT_EQ(daemon_->Berth({"load", "-q", "--no-unpack", "-i", archive}).exit_code, 0);
  CommandResult push = daemon_->Berth({"push", name});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_EQ(PushedDigest(push.out), digests["index"].get<std::string>()) << push.out;
  if (Has(kSkopeo)) {
    EXPECT_EQ(SkopeoDigest(name, {"--tls-verify=false"}), digests["index"]);
  }
  ASSERT_EQ(daemon_->Berth({"rmi", name}).exit_code, 0);
  ASSERT_EQ(daemon_->BlobCount(), 0);

  // Only the arm64 manifest's blobs come down (the index, one manifest, a config, a layer).
  r = daemon_->Berth({"pull", "--no-unpack", "--platform", "linux/arm64", name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_->Images().at(name), digests["index"]);
  EXPECT_TRUE(daemon_->BlobOnDisk(digests["arm64"]));
  EXPECT_FALSE(daemon_->BlobOnDisk(digests["amd64"]));
  EXPECT_EQ(daemon_->BlobCount(), 4);
  r = daemon_->Berth({"pull", "--no-unpack", "--platform", "windows/amd64", name});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no matching manifest for windows/amd64"), std::string::npos) << r.err;
}

TEST_F(RegistryTest, PullCutByAStoppedRegistryResumesWhenItReturns) {
  Registry reg(dir_);
  const std::string name = reg.host() + "/big:1";
  const std::string archive = dir_ + "/big.tar";
  CommandResult r = RunCommand({"/usr/bin/python3", kMakeLarge, archive, name, "--size-mib", "48"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json digests = json::parse(r.out);
  ASSERT_EQ(daemon_->Berth({"load", "-q", "--no-unpack", "-i", archive}).exit_code, 0);
  ASSERT_EQ(daemon_->Berth({"push", "-q", name}).exit_code, 0);
  ASSERT_EQ(daemon_->Berth({"rmi", name}).exit_code, 0);

  // 8 MB/s through the proxy: the 48 MiB layer takes about 6 s.
  Proxy proxy(dir_, reg.port(), {"--rate", "8000000"});
  const std::string via = proxy.host() + "/big:1";
  const std::string out = dir_ + "/pull.out";
  Child pull({"/bin/sh", "-c",
              "BERTH_AUTH_CONFIG=/nonexistent " + kBerth + " -H unix://" + daemon_->socket() +
                  " pull --no-unpack " + via + " >" + out + " 2>&1"});
  // Stop the registry once a good part of the layer is in.
  bool midway = false;
  for (int i = 0; i < 200 && !midway; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CommandResult du = RunCommand(
        {"/bin/sh", "-c", "cat " + daemon_->root() + "/content/ingest/*/data 2>/dev/null | wc -c"});
    midway = std::atoll(du.out.c_str()) > (12 << 20);
  }
  ASSERT_TRUE(midway) << ReadWholeFile(out);
  reg.Stop();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_TRUE(reg.Start()) << reg.Stderr();
  EXPECT_EQ(pull.Wait(std::chrono::seconds(90)), 0) << ReadWholeFile(out);

  const std::string text = ReadWholeFile(out);
  EXPECT_NE(text.find(": Retrying ("), std::string::npos) << text;
  EXPECT_NE(text.find("Status: Downloaded newer image for " + via), std::string::npos) << text;
  EXPECT_EQ(daemon_->Images().at(via), digests["index"]);
  // The layer was asked for again from where the cut left it, not from the start.
  const std::string log = proxy.Log();
  EXPECT_NE(log.find(" bytes="), std::string::npos) << log;
  EXPECT_EQ(log.find(" bytes=0-"), std::string::npos) << log;
  EXPECT_TRUE(daemon_->BlobOnDisk(digests["amd64"]));
}

TEST_F(RegistryTest, CorruptBlobIsRejectedAndNothingStaysReferenced) {
  Registry reg(dir_);
  const std::string name = reg.host() + "/busybox:e2e";
  LoadBusybox(name);
  ASSERT_EQ(daemon_->Berth({"push", "-q", name}).exit_code, 0);
  CommandResult inspect = daemon_->Berth({"image", "inspect", name});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const json info = json::parse(inspect.out);
  const std::string layer = info[0]["RootFS"]["diff_ids"][0];  // uncompressed: diff_id = digest
  ASSERT_EQ(daemon_->Berth({"rmi", name}).exit_code, 0);
  ASSERT_EQ(daemon_->BlobCount(), 0);

  Proxy proxy(dir_, reg.port(), {"--corrupt", layer});
  CommandResult r = daemon_->Berth({"pull", proxy.host() + "/busybox:e2e"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("blob " + layer), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("digest mismatch"), std::string::npos) << r.err;
  EXPECT_TRUE(daemon_->Images().empty());
  // The manifest and config that came before were collected with the pull's lease.
  EXPECT_EQ(daemon_->BlobCount(), 0);
  CommandResult ingests =
      RunCommand({"/bin/sh", "-c", "ls " + daemon_->root() + "/content/ingest | wc -l"});
  EXPECT_EQ(std::atoi(ingests.out.c_str()), 0);
}

TEST_F(RegistryTest, TlsWithCaAndClientCertificateFromCertsD) {
  const std::string pki = dir_ + "/pki";
  const std::string script =
      "set -e; mkdir -p " + pki + " && cd " + pki +
      " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=berth-test-ca"
      " -keyout ca.key -out ca.crt 2>/dev/null"
      " && openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key"
      " -out server.csr 2>/dev/null"
      " && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext"
      " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2"
      " -extfile san.ext -out server.crt 2>/dev/null"
      " && openssl req -newkey rsa:2048 -nodes -subj /CN=berth-client -keyout client.key"
      " -out client.csr 2>/dev/null"
      " && openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2"
      " -out client.cert 2>/dev/null";
  CommandResult made = RunCommand({"/bin/sh", "-c", script});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  Registry reg(dir_, "  tls:\n    certificate: " + pki + "/server.crt\n    key: " + pki +
                         "/server.key\n    clientcas:\n      - " + pki + "/ca.crt\n");
  const std::string name = reg.host() + "/busybox:tls";
  LoadBusybox(name);

  // Without the CA the certificate is not trusted, and berth says so.
  CommandResult r = daemon_->Berth({"push", name});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;

  const std::string certs = dir_ + "/certs.d/" + reg.host();
  ASSERT_EQ(RunCommand({"/bin/mkdir", "-p", certs}).exit_code, 0);
  ASSERT_EQ(RunCommand({"/bin/cp", pki + "/ca.crt", certs + "/ca.crt"}).exit_code, 0);
  // The CA alone is not enough: the registry wants a client certificate.
  r = daemon_->Berth({"push", name});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("cannot reach the registry"), std::string::npos) << r.err;

  ASSERT_EQ(RunCommand({"/bin/cp", pki + "/client.cert", pki + "/client.key", certs}).exit_code, 0);
  r = daemon_->Berth({"push", name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string digest = PushedDigest(r.out);
  if (Has(kSkopeo)) {
    EXPECT_EQ(SkopeoDigest(name, {"--cert-dir", certs}), digest);
  }
  ASSERT_EQ(daemon_->Berth({"rmi", name}).exit_code, 0);
  r = daemon_->Berth({"pull", name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_->Images().at(name), digest);
}

TEST_F(RegistryTest, BasicAuthLoginPushPullLogout) {
  if (!Has("/usr/bin/htpasswd")) GTEST_SKIP() << "htpasswd (apache2-utils) is missing";
  CommandResult h =
      RunCommand({"/usr/bin/htpasswd", "-Bbc", dir_ + "/htpasswd", "berth", "s3cret pass"});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  Registry reg(dir_, "",
               "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + dir_ + "/htpasswd\n");
  const std::string name = reg.host() + "/private:1";
  LoadBusybox(name);
  const std::string auth = dir_ + "/config/berth/auth.json";

  CommandResult r = daemon_->Berth({"push", name}, auth);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("berth login " + reg.host()), std::string::npos) << r.err;

  r = daemon_->Berth({"login", "-u", "berth", "-p", "wrong", reg.host()}, auth);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refused the credentials"), std::string::npos) << r.err;
  EXPECT_NE(access(auth.c_str(), F_OK), 0);

  r = RunCommand({"/bin/sh", "-c",
                  "printf 's3cret pass\\n' | BERTH_AUTH_CONFIG=" + auth + " " + kBerth +
                      " -H unix://" + daemon_->socket() + " login -u berth --password-stdin " +
                      reg.host()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Login Succeeded\n");
  struct stat st;
  ASSERT_EQ(stat(auth.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(ReadWholeFile(auth).find("\"" + reg.host() + "\""), std::string::npos)
      << ReadWholeFile(auth);

  r = daemon_->Berth({"push", name}, auth);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string digest = PushedDigest(r.out);
  if (Has(kSkopeo)) {
    EXPECT_EQ(SkopeoDigest(name, {"--tls-verify=false", "--creds", "berth:s3cret pass"}), digest);
  }
  ASSERT_EQ(daemon_->Berth({"rmi", name}, auth).exit_code, 0);
  r = daemon_->Berth({"pull", name}, auth);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_->Images().at(name), digest);

  r = daemon_->Berth({"logout", reg.host()}, auth);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Removing login credentials for " + reg.host() + "\n");
  ASSERT_EQ(daemon_->Berth({"rmi", name}, auth).exit_code, 0);
  r = daemon_->Berth({"pull", name}, auth);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("berth login " + reg.host()), std::string::npos) << r.err;
  EXPECT_TRUE(daemon_->Images().empty());
}

// docker-registry in token mode, with token_server.py as its realm: the bearer flow that
// Docker Hub and most hosted registries use.
TEST_F(RegistryTest, BearerTokenFlowWithLogin) {
  const std::string pki = dir_ + "/token-pki";
  CommandResult made =
      RunCommand({"/bin/sh", "-c",
                  "mkdir -p " + pki + " && cd " + pki +
                      " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=berth-token"
                      " -keyout token.key -out token.crt 2>/dev/null"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string port_file = dir_ + "/token.port";
  const std::string log = dir_ + "/token.log";
  Child tokens({"/usr/bin/python3", kTokenServer, port_file, "--key", pki + "/token.key", "--cert",
                pki + "/token.crt", "--issuer", "berth-issuer", "--user", "berth:t0ken pass",
                "--log", log});
  ASSERT_TRUE(WaitForPath(port_file, tokens)) << tokens.Stderr();
  const std::string realm = "http://127.0.0.1:" + ReadWholeFile(port_file) + "/token";
  Registry reg(dir_, "",
               "auth:\n  token:\n    realm: " + realm +
                   "\n    service: berth-test\n    issuer: berth-issuer\n    rootcertbundle: " +
                   pki + "/token.crt\n");
  const std::string name = reg.host() + "/team/busybox:1";
  LoadBusybox(name);
  const std::string auth = dir_ + "/bearer-auth.json";

  // Anonymous tokens grant nothing here.
  CommandResult r = daemon_->Berth({"push", name}, auth);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("berth login " + reg.host()), std::string::npos) << r.err;

  r = daemon_->Berth({"login", "-u", "berth", "-p", "wrong", reg.host()}, auth);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the token server " + realm + " refused the credentials"), std::string::npos)
      << r.err;
  r = daemon_->Berth({"login", "-u", "berth", "-p", "t0ken pass", reg.host()}, auth);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = daemon_->Berth({"push", name}, auth);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string digest = PushedDigest(r.out);
  ASSERT_EQ(daemon_->Berth({"rmi", name}, auth).exit_code, 0);
  r = daemon_->Berth({"pull", name}, auth);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_->Images().at(name), digest);
  // A push asks for pull,push on the repository, a pull for pull, both as the logged-in user.
  const std::string asked = ReadWholeFile(log);
  EXPECT_NE(asked.find("berth repository:team/busybox:pull,push"), std::string::npos) << asked;
  EXPECT_NE(asked.find("berth repository:team/busybox:pull\n"), std::string::npos) << asked;
}

// docker.io images come from registry_mirrors when one answers (here a registry on loopback;
// registry-1.docker.io is never asked while the mirror is up).
TEST_F(RegistryTest, DockerHubImagesComeFromAMirror) {
  Registry reg(dir_);
  LoadBusybox(reg.host() + "/library/busybox:mirrored");
  ASSERT_EQ(daemon_->Berth({"push", "-q", reg.host() + "/library/busybox:mirrored"}).exit_code, 0);
  const std::string digest = daemon_->Images().at(reg.host() + "/library/busybox:mirrored");

  const std::string config = dir_ + "/mirror.yaml";
  WriteFile(config, "registry_mirrors: [\"http://" + reg.host() + "\"]\n");
  Daemon d(config);
  CommandResult r = d.Berth({"pull", "--no-unpack", "busybox:mirrored"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("mirrored: Pulling from library/busybox\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Status: Downloaded newer image for busybox:mirrored\n"), std::string::npos)
      << r.out;
  EXPECT_EQ(d.Images().at("docker.io/library/busybox:mirrored"), digest);
}

// A pull stopped from the client side (Ctrl-C) keeps what it fetched in the blob's ingest, and
// the next pull of the same image asks only for the rest.
TEST_F(RegistryTest, InterruptedPullIsResumedByTheNextPull) {
  Registry reg(dir_);
  const std::string name = reg.host() + "/big:2";
  const std::string archive = dir_ + "/big.tar";
  CommandResult r = RunCommand({"/usr/bin/python3", kMakeLarge, archive, name, "--size-mib", "32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json digests = json::parse(r.out);
  ASSERT_EQ(daemon_->Berth({"load", "-q", "--no-unpack", "-i", archive}).exit_code, 0);
  ASSERT_EQ(daemon_->Berth({"push", "-q", name}).exit_code, 0);
  ASSERT_EQ(daemon_->Berth({"rmi", name}).exit_code, 0);

  {
    Proxy slow(dir_, reg.port(), {"--rate", "4000000"}, "slow");
    Child pull({kBerth, "-H", "unix://" + daemon_->socket(), "pull", "--no-unpack",
                slow.host() + "/big:2"});
    bool midway = false;
    for (int i = 0; i < 200 && !midway; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      CommandResult du =
          RunCommand({"/bin/sh", "-c",
                      "cat " + daemon_->root() + "/content/ingest/*/data 2>/dev/null | wc -c"});
      midway = std::atoll(du.out.c_str()) > (4 << 20);
    }
    ASSERT_TRUE(midway);
    EXPECT_NE(pull.Stop(2 /* SIGINT */), 0);
  }
  // Nothing is named, but the partial layer waits in its ingest.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(daemon_->Images().empty());
  CommandResult kept = RunCommand(
      {"/bin/sh", "-c", "cat " + daemon_->root() + "/content/ingest/*/data 2>/dev/null | wc -c"});
  EXPECT_GT(std::atoll(kept.out.c_str()), 4 << 20);

  Proxy fast(dir_, reg.port(), {}, "fast");
  r = daemon_->Berth({"pull", "--no-unpack", fast.host() + "/big:2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_->Images().at(fast.host() + "/big:2"), digests["index"]);
  const std::string log = fast.Log();
  EXPECT_NE(log.find(" bytes="), std::string::npos) << log;
  EXPECT_EQ(log.find(" bytes=0-"), std::string::npos) << log;
}

}  // namespace
}  // namespace berth::e2e
