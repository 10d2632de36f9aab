#include "services/daemon/root_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth::daemon {

absl::StatusOr<RootLock> RootLock::Acquire(const std::string& root) {
  const std::string file = path::Join(root, "berthd.lock");
  ASSIGN_OR_RETURN(UniqueFd fd, sys::Open(file, O_RDWR | O_CREAT, 0600));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoStatus(absl::StrCat("flock(", file, ")"), errno);
    absl::StatusOr<std::string> holder = sys::ReadFile(file);
    std::string pid = holder.ok() ? std::string(absl::StripAsciiWhitespace(*holder)) : "";
    return absl::FailedPreconditionError(
        absl::StrCat("another berthd", pid.empty() ? "" : absl::StrCat(" (pid ", pid, ")"),
                     " is already using root ", root, " (lock ", file,
                     " is held); stop it or give this one another --root"));
  }
  std::string pid = absl::StrCat(::getpid(), "\n");
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) {
    return ErrnoStatus(absl::StrCat("write(", file, ")"), errno);
  }
  return RootLock(std::move(fd));
}

}  // namespace berth::daemon
