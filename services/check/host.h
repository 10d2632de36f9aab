// What the check service reads from the host rather than from berth's records: the mount
// table, the cgroup2 tree and the process table. Every function takes the text or directory it
// reads, so tests run them on fixtures.
#ifndef BERTH_SERVICES_CHECK_HOST_H_
#define BERTH_SERVICES_CHECK_HOST_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::check {

struct MountEntry {
  std::string mount_point;  // unescaped (mountinfo writes a space as \040)
  std::string fstype;
  std::string source;
};

// The entries of a /proc/<pid>/mountinfo text, in order.
std::vector<MountEntry> ParseMountInfo(const std::string& text);

// The cgroup2 mount point among `mounts`: the last one, as a later mount hides an earlier.
// NOT_FOUND when there is none.
absl::StatusOr<std::string> Cgroup2Mount(const std::vector<MountEntry>& mounts);

// A berth-shim process: its pid and the --state and --id it was started with.
struct ShimProcess {
  pid_t pid = 0;
  std::string state_dir;
  std::string id;
};

// Every live (not zombie) process under `proc` whose argv[0] is a berth-shim.
std::vector<ShimProcess> FindShims(const std::string& proc = "/proc");

// `pid` exists under `proc` and is not a zombie.
bool ProcessAlive(pid_t pid, const std::string& proc = "/proc");

// The command line of `pid`, one string per argument; empty when it cannot be read.
std::vector<std::string> CommandLine(pid_t pid, const std::string& proc = "/proc");

// The names in `dir` ("." and ".." left out); empty when it cannot be read.
std::vector<std::string> DirEntries(const std::string& dir);

// The subdirectories of `dir`.
std::vector<std::string> SubDirs(const std::string& dir);

// Whether a cgroup directory (cgroup2) has processes in it or below it: its cgroup.events
// says "populated 1".
bool CgroupPopulated(const std::string& dir);

}  // namespace berth::check

#endif  // BERTH_SERVICES_CHECK_HOST_H_
