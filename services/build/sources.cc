#include "services/build/sources.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/digest.h"
#include "common/path.h"
#include "common/safe_path.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth::build {
namespace {

// The names in a directory, sorted, without "." and "..".
absl::StatusOr<std::vector<std::string>> ListDir(int dir_fd) {
  const int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return ErrnoStatus("dup", errno);
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    ::close(dup);
    return ErrnoStatus("fdopendir", errno);
  }
  std::vector<std::string> names;
  while (struct dirent* de = ::readdir(d)) {
    const std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// openat, or for an empty name the file `dir_fd` itself refers to (an O_PATH fd reopened).
int OpenAt(int dir_fd, const std::string& name, int flags) {
  if (name.empty()) return ::open(FdPath(dir_fd).c_str(), flags | O_CLOEXEC);
  return ::openat(dir_fd, name.c_str(), flags | O_CLOEXEC);
}

std::string JoinRel(const std::string& a, const std::string& b) {
  return a.empty() || a == "." ? b : absl::StrCat(a, "/", b);
}

class Hasher {
 public:
  absl::Status Entry(int dir_fd, const std::string& name, const std::string& rel, bool follow) {
    struct stat st;
    const int flags = follow ? 0 : AT_SYMLINK_NOFOLLOW;
    if (::fstatat(dir_fd, name.c_str(), &st, flags | AT_EMPTY_PATH) != 0) {
      return ErrnoStatus(absl::StrCat("stat(", rel, ")"), errno);
    }
    absl::StrAppend(&text_, rel, "\t", st.st_mode & S_IFMT, "\t", st.st_mode & 07777, "\t");
    if (S_ISREG(st.st_mode)) {
      absl::StrAppend(&text_, st.st_size, "\t");
      UniqueFd f(OpenAt(dir_fd, name, O_RDONLY | (follow ? 0 : O_NOFOLLOW)));
      if (!f.valid()) return ErrnoStatus(absl::StrCat("open(", rel, ")"), errno);
      Sha256 h;
      std::string buf(1 << 16, '\0');
      for (;;) {
        const ssize_t n = sys::RetryEintr([&] { return ::read(f.get(), buf.data(), buf.size()); });
        if (n < 0) return ErrnoStatus(absl::StrCat("read(", rel, ")"), errno);
        if (n == 0) break;
        h.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
      }
      absl::StrAppend(&text_, h.Final().ToString());
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      const ssize_t n = ::readlinkat(dir_fd, name.c_str(), target, sizeof(target));
      if (n < 0) return ErrnoStatus(absl::StrCat("readlink(", rel, ")"), errno);
      text_.append(target, static_cast<size_t>(n));
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      absl::StrAppend(&text_, st.st_rdev);
    }
    text_ += "\n";
    if (text_.size() > (1 << 20)) Flush();
    if (S_ISDIR(st.st_mode)) {
      UniqueFd d(OpenAt(dir_fd, name, O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW)));
      if (!d.valid()) return ErrnoStatus(absl::StrCat("open(", rel, ")"), errno);
      ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(d.get()));
      for (const std::string& n : names) RETURN_IF_ERROR(Entry(d.get(), n, JoinRel(rel, n), false));
    }
    return absl::OkStatus();
  }
  std::string Final() {
    Flush();
    return sha_.Final().ToString();
  }

 private:
  void Flush() {
    sha_.Update(text_);
    text_.clear();
  }
  std::string text_;
  Sha256 sha_;
};

}  // namespace

bool HasGlob(absl::string_view pattern) {
  return pattern.find_first_of("*?[") != absl::string_view::npos;
}

absl::StatusOr<std::vector<std::string>> MatchSources(int root_fd, const std::string& pattern,
                                                      absl::string_view tree_name) {
  std::string rel = pattern;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  rel = path::Clean(rel);
  if (rel == ".." || absl::StartsWith(rel, "../")) {
    return absl::InvalidArgumentError(
        absl::StrCat("forbidden path outside the ", tree_name, ": ", pattern));
  }
  if (rel == ".") return std::vector<std::string>{"."};
  std::vector<std::string> candidates = {""};
  for (absl::string_view part : absl::StrSplit(rel, '/')) {
    const std::string comp(part);
    std::vector<std::string> next;
    for (const std::string& c : candidates) {
      if (!HasGlob(comp)) {
        // Without glob characters a backslash still escapes, as in filepath.Match.
        std::string literal;
        for (size_t i = 0; i < comp.size(); ++i) {
          if (comp[i] == '\\' && i + 1 < comp.size()) ++i;
          literal += comp[i];
        }
        next.push_back(JoinRel(c, literal));
        continue;
      }
      absl::StatusOr<UniqueFd> dir =
          OpenInRoot(root_fd, c.empty() ? "." : c, O_RDONLY | O_DIRECTORY);
      if (!dir.ok()) continue;  // not a directory: nothing below it matches
      ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir->get()));
      for (const std::string& n : names) {
        if (::fnmatch(comp.c_str(), n.c_str(), 0) == 0) next.push_back(JoinRel(c, n));
      }
    }
    candidates = std::move(next);
  }
  std::vector<std::string> out;
  for (const std::string& c : candidates) {
    if (OpenInRoot(root_fd, c, O_PATH).ok()) out.push_back(c);
  }
  if (out.empty()) {
    return absl::NotFoundError(
        HasGlob(rel)
            ? absl::StrCat("no source files were specified: \"", pattern,
                           "\" matches nothing in the ", tree_name)
            : absl::StrCat("\"", pattern, "\": no such file or directory in the ", tree_name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::string> HashSources(int root_fd, const std::vector<std::string>& paths) {
  Hasher h;
  for (const std::string& p : paths) {
    // The source itself is followed (inside the tree), as COPY follows it.
    ASSIGN_OR_RETURN(UniqueFd fd, OpenInRoot(root_fd, p, O_PATH));
    RETURN_IF_ERROR(h.Entry(fd.get(), "", p, true));
  }
  return h.Final();
}

}  // namespace berth::build
