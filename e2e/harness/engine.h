// A berthd that runs containers, driven through the real berth CLI: the one fixture the
// CLI-level end-to-end tests share. Its config names the workspace's berth-shim and
// berth-runtime; like every TestDaemon its containers get no network unless the test asks for
// one (--default-network in `flags`); images are made by e2e/fixtures/make_oci_image.py (the
// busybox test image) and loaded with `berth load`.
#ifndef BERTH_E2E_HARNESS_ENGINE_H_
#define BERTH_E2E_HARNESS_ENGINE_H_

#include <map>
#include <string>
#include <vector>

#include "e2e/harness/daemon.h"
#include "e2e/harness/process.h"

namespace berth::e2e {

struct EngineOptions {
  std::string prefix = "berth-e2e";  // of the test's temporary directory under /tmp
  std::string config;                // more config.yaml lines, e.g. "bridge_name: bt1\n"
  std::vector<std::string> flags;    // more berthd flags
  // The CLI's -n. "" passes none (the default namespace, or the test's own -n). A namespace
  // named here is the test's alone: its containers and its parent cgroup, /berth/<ns>, are
  // removed when the Engine goes.
  std::string ns;
};

namespace internal {
// The Engine's directory and config file, written before its daemon starts.
class EngineFiles {
 protected:
  EngineFiles(const std::string& prefix, const std::string& config);
  ShortTempDir files_;
  std::vector<std::string> config_flags_;  // --config FILE
};
}  // namespace internal

class Engine : private internal::EngineFiles, public TestDaemon {
 public:
  // Starts berthd; started() says whether it listens.
  explicit Engine(EngineOptions options = {});
  ~Engine();

  // The test's own temporary directory (short, under /tmp), for archives and other files.
  const std::string& dir() const { return files_.path(); }
  std::string host() const { return "unix://" + socket(); }
  const std::string& ns() const { return ns_; }

  // berth -H <host> [-n <ns>] ARGS…
  std::vector<std::string> BerthArgv(std::vector<std::string> args) const;
  CommandResult Berth(std::vector<std::string> args) const;

  // Where MakeImage writes the archive of image `name`.
  std::string Archive(const std::string& name) const;
  // make_oci_image.py: a busybox image named `name`, with more of its flags (--add, --cmd…).
  CommandResult MakeImage(const std::string& name,
                          const std::vector<std::string>& flags = {}) const;
  // berth load -q -i ARCHIVE
  CommandResult Load(const std::string& archive) const;
  // MakeImage, then Load; the first that fails, or the load.
  CommandResult LoadImage(const std::string& name,
                          const std::vector<std::string>& flags = {}) const;

  // Removes a container through the API, whatever its state: marked stopped by hand (so that
  // no restart policy brings it back), killed, its task deleted, then its record and snapshot.
  void ForceRemove(const std::string& id) const;
  // A container's labels, read through the API ({} when there is no such container).
  std::map<std::string, std::string> Labels(const std::string& id) const;
  // berth rm -f for every container `ps -a` lists.
  void RemoveAll() const;

 private:
  std::string ns_;
};

}  // namespace berth::e2e

#endif  // BERTH_E2E_HARNESS_ENGINE_H_
