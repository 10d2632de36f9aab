// /dev inside the container: the nodes every container gets, the spec's linux.devices, and
// the conventional symlinks.
#ifndef BERTH_RUNTIME_LINUX_DEVICES_H_
#define BERTH_RUNTIME_LINUX_DEVICES_H_

#include <vector>

#include "absl/status/status.h"
#include "runtime/spec.h"

namespace berth::runtime {

// null, zero, full, random, urandom, tty (runtime-spec "Default Devices").
absl::Status CreateDefaultDevices(int root_fd, bool in_user_ns);
absl::Status CreateSpecDevices(int root_fd, const std::vector<Device>& devices, bool in_user_ns);
// /dev/fd, stdin, stdout, stderr, core (when /proc/kcore exists), ptmx → pts/ptmx.
absl::Status CreateDevSymlinks(int root_fd);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_DEVICES_H_
