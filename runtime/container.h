// The operations of berth-runtime's command line, one function each, on a StateStore.
#ifndef BERTH_RUNTIME_CONTAINER_H_
#define BERTH_RUNTIME_CONTAINER_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/spec.h"
#include "runtime/state.h"

namespace berth::runtime {

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
};

// Sets the container up and leaves its init waiting for Start. Returns the init's pid.
absl::StatusOr<pid_t> Create(StateStore& store, const CreateOptions& options);
absl::Status Start(StateStore& store, const std::string& id);
// create + start, then (unless detach) wait: returns the container's exit code (128+signal
// when killed) and deletes it.
absl::StatusOr<int> Run(StateStore& store, const CreateOptions& options, bool detach, bool keep);

absl::Status Kill(StateStore& store, const std::string& id, int signal, bool all);
absl::Status Delete(StateStore& store, const std::string& id, bool force);
absl::Status Pause(StateStore& store, const std::string& id);
absl::Status Resume(StateStore& store, const std::string& id);
absl::Status Update(StateStore& store, const std::string& id, const std::string& resources_json);
absl::StatusOr<std::vector<pid_t>> Pids(StateStore& store, const std::string& id);

struct ExecOptions {
  std::string id;
  Process process;
  bool detach = false;
  std::string pid_file;
  std::string console_socket;
  int preserve_fds = 0;
};
// Returns the process's exit code, or 0 once started when detached.
absl::StatusOr<int> Exec(StateStore& store, const ExecOptions& options);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_CONTAINER_H_
