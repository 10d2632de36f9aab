// The syscall seam: thin wrappers that turn errno into absl::Status with a message naming the
// call and its key arguments ("open(/run/berth/x, O_RDONLY): No such file or directory").
#ifndef BERTH_COMMON_SYSCALL_H_
#define BERTH_COMMON_SYSCALL_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace berth {

// Maps an errno value to the closest canonical code.
absl::StatusCode ErrnoToCode(int err);

// "call: strerror(err)" with the code from ErrnoToCode. `call` should already hold the
// arguments, e.g. "mkdir(/var/lib/berth)".
absl::Status ErrnoStatus(absl::string_view call, int err);

namespace sys {

// Retries `fn` while it fails with EINTR and returns its last result.
template <typename Fn>
auto RetryEintr(Fn fn) {
  decltype(fn()) r;
  do {
    r = fn();
  } while (r == -1 && errno == EINTR);
  return r;
}

absl::StatusOr<UniqueFd> Open(const std::string& path, int flags, mode_t mode = 0);
absl::Status Mkdir(const std::string& path, mode_t mode);
// Creates `path` and its missing parents; existing directories are fine.
absl::Status MkdirAll(const std::string& path, mode_t mode);
absl::Status Chmod(const std::string& path, mode_t mode);
absl::Status Unlink(const std::string& path);
// Unlinks `path`; a missing file is not an error.
absl::Status RemoveIfExists(const std::string& path);
absl::StatusOr<std::string> ReadFile(const std::string& path);
// Writes via a temporary file in the same directory and renames it over `path`, so readers see
// the old or the new content, never a torn one. Durability says whether the data must survive
// a crash of the machine (fsync before the rename); state that lives in /run need not pay it.
enum class Durability { kDurable, kVolatile };
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, mode_t mode,
                             Durability durability = Durability::kDurable);
bool Exists(const std::string& path);

}  // namespace sys
}  // namespace berth

#endif  // BERTH_COMMON_SYSCALL_H_
