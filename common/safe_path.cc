#include "common/safe_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <deque>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth {

absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, const std::string& rel, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string p = rel.empty() ? "." : rel;
  int fd = static_cast<int>(sys::RetryEintr(
      [&] { return ::syscall(SYS_openat2, root_fd, p.c_str(), &how, sizeof(how)); }));
  if (fd < 0) return ErrnoStatus(absl::StrCat("openat2(", p, ", RESOLVE_IN_ROOT)"), errno);
  return UniqueFd(fd);
}

absl::StatusOr<UniqueFd> MkdirAllInRoot(int root_fd, const std::string& rel, mode_t mode) {
  // Components still to walk, front first. A dangling symlink on the way is replaced by its
  // target's components, resolved against the root as the kernel would inside it.
  std::deque<std::string> todo;
  for (absl::string_view part : absl::StrSplit(rel, '/', absl::SkipEmpty())) {
    todo.emplace_back(part);
  }
  std::vector<std::string> walked;
  int links = 0;
  ASSIGN_OR_RETURN(UniqueFd cur, OpenInRoot(root_fd, "/", O_PATH | O_DIRECTORY));
  while (!todo.empty()) {
    std::string part = std::move(todo.front());
    todo.pop_front();
    if (part == "." || part.empty()) continue;
    if (part == "..") {
      if (!walked.empty()) walked.pop_back();
      ASSIGN_OR_RETURN(cur,
                       OpenInRoot(root_fd, "/" + absl::StrJoin(walked, "/"), O_PATH | O_DIRECTORY));
      continue;
    }
    walked.push_back(part);
    const std::string here = "/" + absl::StrJoin(walked, "/");
    absl::StatusOr<UniqueFd> next = OpenInRoot(root_fd, here, O_PATH | O_DIRECTORY);
    if (!next.ok() && absl::IsNotFound(next.status())) {
      char target[4096];
      ssize_t n = ::readlinkat(cur.get(), part.c_str(), target, sizeof(target) - 1);
      if (n >= 0) {
        if (++links > 40) return ErrnoStatus(absl::StrCat("mkdir(", here, ")"), ELOOP);
        walked.pop_back();
        std::string t(target, static_cast<size_t>(n));
        std::vector<std::string> parts = absl::StrSplit(t, '/', absl::SkipEmpty());
        todo.insert(todo.begin(), parts.begin(), parts.end());
        if (!t.empty() && t[0] == '/') {
          walked.clear();
          ASSIGN_OR_RETURN(cur, OpenInRoot(root_fd, "/", O_PATH | O_DIRECTORY));
        }
        continue;
      }
      if (::mkdirat(cur.get(), part.c_str(), mode) != 0 && errno != EEXIST) {
        return ErrnoStatus(absl::StrCat("mkdir(", here, ")"), errno);
      }
      next = OpenInRoot(root_fd, here, O_PATH | O_DIRECTORY);
    }
    if (!next.ok()) return next.status();
    cur = *std::move(next);
  }
  return cur;
}

absl::StatusOr<UniqueFd> EnsureInRoot(int root_fd, const std::string& rel, bool dir, mode_t mode) {
  if (dir) return MkdirAllInRoot(root_fd, rel, mode);
  absl::StatusOr<UniqueFd> existing = OpenInRoot(root_fd, rel, O_PATH);
  if (existing.ok() || !absl::IsNotFound(existing.status())) return existing;
  std::string parent(
      rel.substr(0, rel.find_last_of('/') == std::string::npos ? 0 : rel.find_last_of('/')));
  ASSIGN_OR_RETURN(UniqueFd pfd, MkdirAllInRoot(root_fd, parent, 0755));
  std::string name = rel.substr(rel.find_last_of('/') + 1);
  // O_NOFOLLOW: a dangling symlink as the last component is refused rather than followed.
  int fd = ::openat(pfd.get(), name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0 && errno != EEXIST) return ErrnoStatus(absl::StrCat("create(", rel, ")"), errno);
  if (fd >= 0) ::close(fd);
  // Reopen through the parent we resolved, so the fd is the file we just made.
  int out = ::openat(pfd.get(), name.c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (out < 0) return ErrnoStatus(absl::StrCat("open(", rel, ")"), errno);
  return UniqueFd(out);
}

std::string FdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

}  // namespace berth
