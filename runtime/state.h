// What berth-runtime remembers about a container between invocations, under its --root:
//
//   <root>/<id>/
//     state.json     this record (written atomically)
//     config.json    the spec as it was at create, for exec and delete
//     start.sock     present from create until start: the waiting init accepts on it
//
// Everything here lives in /run and dies with a reboot, so it is written without fsync.
//
// The status is not stored: it is derived each time from the init process (alive, and the
// same process by its start time), the start socket and the cgroup's freeze state.
#ifndef BERTH_RUNTIME_STATE_H_
#define BERTH_RUNTIME_STATE_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::runtime {

struct ContainerState {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22, to detect pid reuse
  std::string bundle;
  std::string rootfs;
  std::string created;     // RFC 3339
  std::string cgroup_dir;  // absolute; empty when the container has no cgroup of its own
  std::map<std::string, std::string> annotations;
  std::string oci_version;
  bool use_systemd = false;
};

enum class Status { kCreating, kCreated, kRunning, kPaused, kStopped };
const char* StatusName(Status s);

// Container ids become directory and cgroup names: letters, digits, '_', '-', '.', not "." or
// "..", at most 1024 bytes (runc's rule).
absl::Status ValidateId(const std::string& id);

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string Dir(const std::string& id) const;
  std::string StartSocket(const std::string& id) const;
  // Compiled seccomp programs, by profile (linux/seccomp.h); not a container, so not listed.
  std::string SeccompCache() const;

  // Creates <root>/<id>/; ALREADY_EXISTS if the id is taken.
  absl::Status Reserve(const std::string& id);
  absl::Status Save(const ContainerState& state);
  absl::Status SaveConfig(const std::string& id, const std::string& config_json);
  absl::StatusOr<std::string> LoadConfig(const std::string& id) const;
  // NOT_FOUND "container <id> does not exist" when there is no record.
  absl::StatusOr<ContainerState> Load(const std::string& id) const;
  absl::Status Remove(const std::string& id);
  absl::StatusOr<std::vector<std::string>> List() const;

  Status StatusOf(const ContainerState& state) const;

  // The runtime-spec state document (ociVersion, id, status, pid, bundle, annotations …).
  std::string StateJson(const ContainerState& state) const;

 private:
  std::string root_;
};

// The runtime-spec state document for `state` with the given status: what `state` prints and
// what hooks read on stdin.
std::string StateJsonAs(const ContainerState& state, Status status);

// The start time of `pid` (clock ticks since boot), or 0 when it does not exist or is a zombie.
uint64_t ProcessStartTime(pid_t pid);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_STATE_H_
