#include "services/build/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/path.h"
#include "common/safe_path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/unique_fd.h"
#include "snapshotter/apply/apply.h"

namespace berth::build {
namespace {

constexpr size_t kMaxHardlinkFds = 1024;

int OpenAt(int dir_fd, const std::string& name, int flags) {
  if (name.empty()) return ::open(FdPath(dir_fd).c_str(), flags | O_CLOEXEC);
  return ::openat(dir_fd, name.c_str(), flags | O_CLOEXEC);
}

absl::StatusOr<std::vector<std::string>> Names(int dir_fd) {
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

absl::Status CopyData(int in, int out, const std::string& what) {
  for (;;) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
    if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
      break;  // not between these filesystems: plain reads and writes below
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(absl::StrCat("copy_file_range(", what, ")"), errno);
    if (n == 0) return absl::OkStatus();
  }
  std::string buf(1 << 17, '\0');
  for (;;) {
    const ssize_t n = sys::RetryEintr([&] { return ::read(in, buf.data(), buf.size()); });
    if (n < 0) return ErrnoStatus(absl::StrCat("read(", what, ")"), errno);
    if (n == 0) return absl::OkStatus();
    for (ssize_t off = 0; off < n;) {
      const ssize_t w = sys::RetryEintr([&] { return ::write(out, buf.data() + off, n - off); });
      if (w < 0) return ErrnoStatus(absl::StrCat("write(", what, ")"), errno);
      off += w;
    }
  }
}

void CopyXattrs(int in, int out) {
  char names[8192];
  const ssize_t len = ::flistxattr(in, names, sizeof(names));
  if (len <= 0) return;
  for (ssize_t i = 0; i < len;) {
    const std::string name(names + i);
    i += static_cast<ssize_t>(name.size()) + 1;
    if (absl::StartsWith(name, "trusted.overlay.") || name == "security.selinux") continue;
    char value[65536];
    const ssize_t n = ::fgetxattr(in, name.c_str(), value, sizeof(value));
    if (n >= 0) ::fsetxattr(out, name.c_str(), value, static_cast<size_t>(n), 0);
  }
}

class Copier {
 public:
  Copier(const CopyOptions& o) : o_(o) {}

  Owner OwnerOf(const struct stat& st) const {
    if (o_.chown.has_value()) return *o_.chown;
    if (o_.keep_owner) return {st.st_uid, st.st_gid};
    return {};
  }
  mode_t ModeOf(const struct stat& st) const {
    return o_.chmod.has_value() ? *o_.chmod : (st.st_mode & 07777);
  }

  // Applies owner, mode and times to an open file or directory.
  absl::Status Finish(int fd, const struct stat& st, const std::string& what) {
    const Owner own = OwnerOf(st);
    if (::fchown(fd, own.uid, own.gid) != 0)
      return ErrnoStatus(absl::StrCat("chown(", what, ")"), errno);
    if (::fchmod(fd, ModeOf(st)) != 0) return ErrnoStatus(absl::StrCat("chmod(", what, ")"), errno);
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(fd, times) != 0) return ErrnoStatus(absl::StrCat("utimes(", what, ")"), errno);
    return absl::OkStatus();
  }

  // Removes what is at `name` in `dst` unless it is a directory (then `dir_ok` says whether
  // that is fine): room for a new entry.
  absl::StatusOr<bool> Clear(int dst, const std::string& name, bool want_dir,
                             const std::string& what) {
    struct stat st;
    if (::fstatat(dst, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return false;
      return ErrnoStatus(absl::StrCat("stat(", what, ")"), errno);
    }
    if (S_ISDIR(st.st_mode)) {
      if (want_dir) return true;
      return absl::InvalidArgumentError(
          absl::StrCat("cannot copy a non-directory over the directory ", what));
    }
    if (::unlinkat(dst, name.c_str(), 0) != 0)
      return ErrnoStatus(absl::StrCat("unlink(", what, ")"), errno);
    return false;
  }

  // One entry `name` of `src` (empty: `src` itself, followed) as `dst_name` in `dst`.
  absl::Status Entry(int src, const std::string& name, int dst, const std::string& dst_name,
                     const std::string& what) {
    struct stat st;
    const int flags = name.empty() ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW;
    if (::fstatat(src, name.c_str(), &st, flags) != 0) {
      return ErrnoStatus(absl::StrCat("stat(", what, ")"), errno);
    }
    const Owner own = OwnerOf(st);
    if (S_ISDIR(st.st_mode)) {
      ASSIGN_OR_RETURN(bool existed, Clear(dst, dst_name, true, what));
      if (!existed && ::mkdirat(dst, dst_name.c_str(), 0700) != 0) {
        return ErrnoStatus(absl::StrCat("mkdir(", what, ")"), errno);
      }
      UniqueFd out(
          ::openat(dst, dst_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!out.valid()) return ErrnoStatus(absl::StrCat("open(", what, ")"), errno);
      UniqueFd in(OpenAt(src, name, O_RDONLY | O_DIRECTORY | (name.empty() ? 0 : O_NOFOLLOW)));
      if (!in.valid()) return ErrnoStatus(absl::StrCat("open(", what, ")"), errno);
      RETURN_IF_ERROR(Contents(in.get(), out.get(), what));
      CopyXattrs(in.get(), out.get());
      return Finish(out.get(), st, what);
    }
    ASSIGN_OR_RETURN(bool is_dir, Clear(dst, dst_name, false, what));
    (void)is_dir;
    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto it = links_.find({st.st_dev, st.st_ino});
        if (it != links_.end()) {
          if (::linkat(it->second.get(), "", dst, dst_name.c_str(), AT_EMPTY_PATH) != 0) {
            return ErrnoStatus(absl::StrCat("link(", what, ")"), errno);
          }
          return absl::OkStatus();
        }
      }
      UniqueFd in(OpenAt(src, name, O_RDONLY | (name.empty() ? 0 : O_NOFOLLOW)));
      if (!in.valid()) return ErrnoStatus(absl::StrCat("open(", what, ")"), errno);
      UniqueFd out(::openat(dst, dst_name.c_str(),
                            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!out.valid()) return ErrnoStatus(absl::StrCat("create(", what, ")"), errno);
      RETURN_IF_ERROR(CopyData(in.get(), out.get(), what));
      CopyXattrs(in.get(), out.get());
      RETURN_IF_ERROR(Finish(out.get(), st, what));
      if (st.st_nlink > 1 && links_.size() < kMaxHardlinkFds) {
        UniqueFd keep(::openat(dst, dst_name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (keep.valid()) links_.emplace(std::make_pair(st.st_dev, st.st_ino), std::move(keep));
      }
      return absl::OkStatus();
    }
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      const ssize_t n = ::readlinkat(src, name.c_str(), target, sizeof(target) - 1);
      if (n < 0) return ErrnoStatus(absl::StrCat("readlink(", what, ")"), errno);
      target[n] = '\0';
      if (::symlinkat(target, dst, dst_name.c_str()) != 0) {
        return ErrnoStatus(absl::StrCat("symlink(", what, ")"), errno);
      }
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      if (::mknodat(dst, dst_name.c_str(), st.st_mode & (S_IFMT | 0777), st.st_rdev) != 0) {
        return ErrnoStatus(absl::StrCat("mknod(", what, ")"), errno);
      }
    } else {
      return absl::OkStatus();  // sockets are not copied
    }
    if (::fchownat(dst, dst_name.c_str(), own.uid, own.gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(absl::StrCat("chown(", what, ")"), errno);
    }
    if (!S_ISLNK(st.st_mode) && ::fchmodat(dst, dst_name.c_str(), ModeOf(st), 0) != 0) {
      return ErrnoStatus(absl::StrCat("chmod(", what, ")"), errno);
    }
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    ::utimensat(dst, dst_name.c_str(), times, AT_SYMLINK_NOFOLLOW);
    return absl::OkStatus();
  }

  // Everything in directory `in` into directory `out`.
  absl::Status Contents(int in, int out, const std::string& what) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, Names(in));
    for (const std::string& n : names) {
      RETURN_IF_ERROR(Entry(in, n, out, n, path::Join(what, n)));
    }
    return absl::OkStatus();
  }

 private:
  const CopyOptions& o_;
  std::map<std::pair<dev_t, ino_t>, UniqueFd> links_;
};

absl::Status Unpack(int file_fd, int dst_dir_fd, const std::string& what) {
  if (::lseek(file_fd, 0, SEEK_SET) != 0) return ErrnoStatus("lseek", errno);
  auto read = [&](char* buf, size_t n) -> absl::StatusOr<size_t> {
    const ssize_t got = sys::RetryEintr([&] { return ::read(file_fd, buf, n); });
    if (got < 0) return ErrnoStatus(absl::StrCat("read(", what, ")"), errno);
    return static_cast<size_t>(got);
  };
  absl::StatusOr<::berth::snapshotter::ApplyResult> r =
      ::berth::snapshotter::ApplyLayer(read, FdPath(dst_dir_fd), {});
  if (!r.ok()) return Annotate(r.status(), absl::StrCat("ADD: unpacking ", what));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<bool> MakeDirs(int root_fd, const std::string& dir, const Owner& owner) {
  const std::string clean = path::Clean("/" + dir);
  std::string here;
  bool made = false;
  for (absl::string_view part : absl::StrSplit(clean, '/', absl::SkipEmpty())) {
    const std::string parent = here.empty() ? "/" : here;
    here = absl::StrCat(here, "/", part);
    made = false;
    absl::StatusOr<UniqueFd> fd = OpenInRoot(root_fd, here, O_PATH | O_DIRECTORY);
    if (fd.ok()) continue;
    if (!absl::IsNotFound(fd.status())) {
      return Annotate(fd.status(), absl::StrCat("cannot make directory ", here));
    }
    ASSIGN_OR_RETURN(UniqueFd p, OpenInRoot(root_fd, parent, O_PATH | O_DIRECTORY));
    const std::string name(part);
    char target[16];
    if (::readlinkat(p.get(), name.c_str(), target, sizeof(target)) >= 0) {
      // A dangling symlink: make what it points at, inside the root.
      ASSIGN_OR_RETURN(UniqueFd d, MkdirAllInRoot(root_fd, clean, 0755));
      (void)d;
      return false;
    }
    if (::mkdirat(p.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus(absl::StrCat("mkdir(", here, ")"), errno);
    }
    if (::fchownat(p.get(), name.c_str(), owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(absl::StrCat("chown(", here, ")"), errno);
    }
    made = true;
  }
  return made;
}

absl::StatusOr<mode_t> ParseChmod(const std::string& text) {
  unsigned int mode = 0;
  bool ok = !text.empty() && text.size() <= 5;
  for (char c : text) {
    ok = ok && c >= '0' && c <= '7';
    mode = mode * 8 + static_cast<unsigned int>(c - '0');
  }
  if (!ok || mode > 07777) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid --chmod value \"", text, "\": use octal permission bits, e.g. 0755"));
  }
  return static_cast<mode_t>(mode);
}

bool IsArchive(int fd) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return false;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  bool ok = false;
  if (archive_read_open_fd(a, fd, 1 << 16) == ARCHIVE_OK) {
    struct archive_entry* e = nullptr;
    ok = archive_read_next_header(a, &e) == ARCHIVE_OK;
  }
  archive_read_free(a);
  ::lseek(fd, 0, SEEK_SET);
  return ok;
}

absl::Status CopyInto(int src_root_fd, const std::vector<std::string>& paths, int dst_root_fd,
                      const std::string& dest, const CopyOptions& options) {
  const std::string clean = path::Clean("/" + dest);
  bool dest_dir = absl::EndsWith(dest, "/") || absl::EndsWith(dest, "/.") || dest == ".";
  if (!dest_dir) {
    struct stat st;
    absl::StatusOr<UniqueFd> d = OpenInRoot(dst_root_fd, clean, O_PATH);
    dest_dir = d.ok() && ::fstat(d->get(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  if (paths.size() > 1 && !dest_dir) {
    return absl::InvalidArgumentError(
        absl::StrCat("when copying several sources, the destination must be a directory and end "
                     "with a /: ",
                     dest));
  }
  Copier copier(options);
  const Owner dir_owner = options.chown.value_or(Owner{});
  for (const std::string& p : paths) {
    ASSIGN_OR_RETURN(UniqueFd src, OpenInRoot(src_root_fd, p, O_PATH));
    struct stat st;
    if (::fstat(src.get(), &st) != 0) return ErrnoStatus(absl::StrCat("stat(", p, ")"), errno);
    if (S_ISDIR(st.st_mode)) {
      ASSIGN_OR_RETURN(bool made, MakeDirs(dst_root_fd, clean, dir_owner));
      ASSIGN_OR_RETURN(UniqueFd out, OpenInRoot(dst_root_fd, clean, O_RDONLY | O_DIRECTORY));
      UniqueFd in(OpenAt(src.get(), "", O_RDONLY | O_DIRECTORY));
      if (!in.valid()) return ErrnoStatus(absl::StrCat("open(", p, ")"), errno);
      RETURN_IF_ERROR(copier.Contents(in.get(), out.get(), clean));
      // A directory made for the copy takes the source directory's metadata.
      if (made) RETURN_IF_ERROR(copier.Finish(out.get(), st, clean));
      continue;
    }
    if (options.unpack_archives && S_ISREG(st.st_mode)) {
      UniqueFd f(OpenAt(src.get(), "", O_RDONLY));
      if (f.valid() && IsArchive(f.get())) {
        ASSIGN_OR_RETURN(bool made, MakeDirs(dst_root_fd, clean, dir_owner));
        (void)made;
        ASSIGN_OR_RETURN(UniqueFd out, OpenInRoot(dst_root_fd, clean, O_PATH | O_DIRECTORY));
        RETURN_IF_ERROR(Unpack(f.get(), out.get(), p));
        continue;
      }
    }
    const std::string parent = dest_dir ? clean : path::Dir(clean);
    const std::string name = dest_dir ? path::Base(p == "." ? "/" : p) : path::Base(clean);
    if (name == "/" || name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot copy ", p, " to ", dest));
    }
    ASSIGN_OR_RETURN(bool made, MakeDirs(dst_root_fd, parent, dir_owner));
    (void)made;
    ASSIGN_OR_RETURN(UniqueFd out, OpenInRoot(dst_root_fd, parent, O_PATH | O_DIRECTORY));
    RETURN_IF_ERROR(copier.Entry(src.get(), "", out.get(), name, path::Join(parent, name)));
  }
  return absl::OkStatus();
}

}  // namespace berth::build
