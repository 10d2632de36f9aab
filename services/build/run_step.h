// A RUN step's process: the OCI spec berth gives it (Docker's defaults for a build: its
// capability set, the usual /proc, /dev and /sys mounts, masked paths, and an empty network
// namespace), and running it as a container through the containers and tasks services, with
// its output streamed as it comes. The container and its task are gone when RunContainer
// returns, whatever happened.
#ifndef BERTH_SERVICES_BUILD_RUN_STEP_H_
#define BERTH_SERVICES_BUILD_RUN_STEP_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/build/backend.h"

namespace berth::build {

struct RunSpecOptions {
  std::string id;  // the container id; also the cgroup's name
  std::string ns;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::string user;  // the image's USER; resolved against the rootfs by the tasks service
};

nlohmann::json RunSpec(const RunSpecOptions& o);

// The mount points RunSpec's mounts need at the top of the rootfs ("proc", "dev", "sys"):
// the runtime makes the missing ones, and the build removes them again afterwards (as
// BuildKit does), so that a RUN does not add them to its layer.
const std::vector<std::string>& MountStubs();

struct RunRequest {
  std::string id;
  std::string runtime;  // the container record's runtime name
  nlohmann::json spec;
  std::string snapshot_key;  // the active snapshot the rootfs is
  Mounts rootfs;
  std::function<void(int stream, absl::string_view data)> on_output;
  std::function<bool()> cancelled;
};

// The process's exit status. The container record and task are deleted before it returns.
absl::StatusOr<int> RunContainer(Backend& backend, const RunRequest& req);

}  // namespace berth::build

#endif  // BERTH_SERVICES_BUILD_RUN_STEP_H_
