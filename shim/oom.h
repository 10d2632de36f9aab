// Watches a container's cgroup v2 memory.events with inotify, so that an OOM kill in it can be
// reported as an event. The kernel signals every change of memory.events as IN_MODIFY.
#ifndef BERTH_SHIM_OOM_H_
#define BERTH_SHIM_OOM_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace berth::shim {

// The mount point of the last cgroup2 mount in a /proc/self/mountinfo text (the one the
// runtime uses: on a hybrid host the unified tree is not at /sys/fs/cgroup). NotFound without.
absl::StatusOr<std::string> LastCgroup2Mount(absl::string_view mountinfo);
// The "0::/path" line of a /proc/<pid>/cgroup text. NotFound without one.
absl::StatusOr<std::string> UnifiedCgroupPath(absl::string_view proc_pid_cgroup);
// The value of `key` in a flat-keyed cgroup file such as memory.events ("oom_kill 3"); 0 if
// absent.
uint64_t FlatKeyed(absl::string_view text, absl::string_view key);

class OomWatcher {
 public:
  // Watches memory.events of the cgroup v2 group `pid` is in. NotFound when there is nothing to
  // watch: no cgroup2 mount, or a group without the memory controller (as on this project's
  // hybrid hosts).
  absl::Status WatchProcess(pid_t pid);
  // Watches this file (memory.events, or a stand-in in tests).
  absl::Status WatchFile(const std::string& memory_events);
  void Stop();
  // The inotify fd to poll; -1 when not watching.
  int fd() const { return inotify_.get(); }
  // Call when fd() is readable: drains it, and returns how much oom_kill grew since last time.
  uint64_t Check();

 private:
  UniqueFd inotify_;
  std::string file_;
  uint64_t oom_kills_ = 0;
};

}  // namespace berth::shim

#endif  // BERTH_SHIM_OOM_H_
