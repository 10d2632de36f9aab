// An exclusive lock on a daemon root, so that two berthd processes never share one database
// and one content store. The lock is flock(2) on <root>/berthd.lock, which also holds the
// owner's pid so that the refusal can name it; the kernel drops it if the daemon dies.
#ifndef BERTH_SERVICES_DAEMON_ROOT_LOCK_H_
#define BERTH_SERVICES_DAEMON_ROOT_LOCK_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace berth::daemon {

class RootLock {
 public:
  // FAILED_PRECONDITION, naming the holder's pid, when another process has it.
  static absl::StatusOr<RootLock> Acquire(const std::string& root);

  RootLock(RootLock&&) = default;
  RootLock& operator=(RootLock&&) = default;

 private:
  explicit RootLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace berth::daemon

#endif  // BERTH_SERVICES_DAEMON_ROOT_LOCK_H_
