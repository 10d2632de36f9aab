// Shared by the reliability tests (crash, faults, disk full, load, check): a berthd with the
// real shim and runtime driven through the berth CLI in a namespace of the test's own (so the
// containers' cgroups, /berth/<namespace>/<id>, are the test's alone), and counters of what a
// daemon holds on the host: fds, mounts, cgroups, shims.
#ifndef BERTH_E2E_RELIABILITY_H_
#define BERTH_E2E_RELIABILITY_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "e2e/harness/engine.h"

namespace berth::e2e {

struct CliDaemonOptions {
  // Extra runtimes by name (the config's runtimes:), beside berth-runtime.
  std::map<std::string, std::string> runtimes;
  std::vector<std::string> flags;  // more berthd flags
  std::string config;              // more config.yaml lines, e.g. "runtime_timeout: 2s\n"
};

// The shared Engine in a namespace named after the test and its pid, with what the reliability
// tests add: more runtimes, images with a layer of random bytes, and berthd's pid.
class CliDaemon : public Engine {
 public:
  // `tag` names the namespace: <tag>-<pid>.
  explicit CliDaemon(const std::string& tag, CliDaemonOptions options = {});

  // Writes a busybox image archive named `name` (make_oci_image.py) with `extra_mib` MiB of
  // random bytes in /blob, so that each such image is a new layer to store and unpack; returns
  // the archive ("" on failure).
  std::string MakeBlobImage(const std::string& name, int extra_mib) const;
  // Loads busybox as "busybox".
  bool LoadBusybox() const { return LoadImage("busybox").exit_code == 0; }
  // berthd's pid (found in /proc by its root).
  pid_t DaemonPid() const;
};

// What one berthd holds on the host, for leak checks.
struct HostCounts {
  int fds = 0;        // berthd's open fds
  int mounts = 0;     // mounts under its root and state
  int cgroups = 0;    // cgroups under /berth/<namespace>
  int shims = 0;      // live berth-shim processes of its state
  int snapshots = 0;  // active snapshots of the namespace
  int veths = 0;      // veth interfaces on the host
  std::string Describe() const;
};
HostCounts Count(const CliDaemon& d);

// The cgroup2 mount point ("" when there is none).
std::string Cgroup2Mount();
// Mount points under `dir` in this process's mount table.
std::vector<std::string> MountsUnder(const std::string& dir);
// Live berth-shim processes started with --state under `state`.
std::vector<pid_t> ShimsUnder(const std::string& state);
// A process exists and is not a zombie.
bool Alive(pid_t pid);
// An integer from the environment, or `def`.
int EnvInt(const char* name, int def);

}  // namespace berth::e2e

#endif  // BERTH_E2E_RELIABILITY_H_
