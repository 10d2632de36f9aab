#include "services/tasks/volume_copyup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/path.h"
#include "common/safe_path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/unique_fd.h"
#include "services/volumes/local.h"

namespace berth::tasks {
namespace {

// The entries of an open directory (fd kept; a dup is read).
absl::StatusOr<std::vector<std::string>> Entries(int dir_fd) {
  const int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return ErrnoStatus("fcntl(F_DUPFD)", errno);
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    const int err = errno;
    ::close(dup);
    return ErrnoStatus("fdopendir", err);
  }
  ::rewinddir(d);
  std::vector<std::string> out;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  return out;
}

absl::Status Owner(int dir, const std::string& name, const struct stat& st) {
  if (::fchownat(dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(absl::StrCat("fchownat(", name, ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status Times(int dir, const std::string& name, const struct stat& st) {
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(absl::StrCat("utimensat(", name, ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status CopyData(int from, int to, off_t size, const std::string& name) {
  off_t done = 0;
  while (done < size) {
    const ssize_t n = ::sendfile(to, from, nullptr, static_cast<size_t>(size - done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(absl::StrCat("sendfile(", name, ")"), errno);
    if (n == 0) break;  // the file shrank under us
    done += n;
  }
  return absl::OkStatus();
}

struct Copier {
  int dst_root;
  // Hardlinked inodes: the first copy's path under dst_root, for linkat.
  std::map<std::pair<dev_t, ino_t>, std::string> links;

  absl::Status Dir(int src, int dst, const std::string& rel) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, Entries(src));
    for (const std::string& name : names) {
      RETURN_IF_ERROR(Entry(src, dst, name, rel.empty() ? name : rel + "/" + name));
    }
    return absl::OkStatus();
  }

  absl::Status Entry(int src, int dst, const std::string& name, const std::string& rel) {
    struct stat st;
    if (::fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(absl::StrCat("fstatat(", rel, ")"), errno);
    }
    const mode_t perm = st.st_mode & 07777;
    switch (st.st_mode & S_IFMT) {
      case S_IFDIR: {
        if (::mkdirat(dst, name.c_str(), 0700) != 0) {
          return ErrnoStatus(absl::StrCat("mkdirat(", rel, ")"), errno);
        }
        ASSIGN_OR_RETURN(UniqueFd s, OpenAt(src, name, O_RDONLY | O_DIRECTORY));
        ASSIGN_OR_RETURN(UniqueFd d, OpenAt(dst, name, O_RDONLY | O_DIRECTORY));
        RETURN_IF_ERROR(Dir(s.get(), d.get(), rel));
        RETURN_IF_ERROR(Owner(dst, name, st));
        if (::fchmod(d.get(), perm) != 0)
          return ErrnoStatus(absl::StrCat("fchmod(", rel, ")"), errno);
        return Times(dst, name, st);
      }
      case S_IFREG: {
        if (st.st_nlink > 1) {
          auto [it, fresh] = links.try_emplace({st.st_dev, st.st_ino}, rel);
          if (!fresh) {
            if (::linkat(dst_root, it->second.c_str(), dst, name.c_str(), 0) != 0) {
              return ErrnoStatus(absl::StrCat("linkat(", it->second, ", ", rel, ")"), errno);
            }
            return absl::OkStatus();
          }
        }
        ASSIGN_OR_RETURN(UniqueFd s, OpenAt(src, name, O_RDONLY));
        const int fd =
            ::openat(dst, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) return ErrnoStatus(absl::StrCat("openat(", rel, ", O_CREAT)"), errno);
        UniqueFd d(fd);
        RETURN_IF_ERROR(CopyData(s.get(), d.get(), st.st_size, rel));
        // chown first: it clears set-id bits that chmod then puts back.
        if (::fchown(d.get(), st.st_uid, st.st_gid) != 0) {
          return ErrnoStatus(absl::StrCat("fchown(", rel, ")"), errno);
        }
        if (::fchmod(d.get(), perm) != 0)
          return ErrnoStatus(absl::StrCat("fchmod(", rel, ")"), errno);
        const timespec times[2] = {st.st_atim, st.st_mtim};
        if (::futimens(d.get(), times) != 0) {
          return ErrnoStatus(absl::StrCat("futimens(", rel, ")"), errno);
        }
        return absl::OkStatus();
      }
      case S_IFLNK: {
        std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
        const ssize_t n = ::readlinkat(src, name.c_str(), target.data(), target.size());
        if (n < 0) return ErrnoStatus(absl::StrCat("readlinkat(", rel, ")"), errno);
        target.resize(static_cast<size_t>(n));
        if (::symlinkat(target.c_str(), dst, name.c_str()) != 0) {
          return ErrnoStatus(absl::StrCat("symlinkat(", rel, ")"), errno);
        }
        RETURN_IF_ERROR(Owner(dst, name, st));
        return Times(dst, name, st);
      }
      case S_IFIFO:
      case S_IFCHR:
      case S_IFBLK: {
        if (::mknodat(dst, name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) {
          return ErrnoStatus(absl::StrCat("mknodat(", rel, ")"), errno);
        }
        RETURN_IF_ERROR(Owner(dst, name, st));
        if (::fchmodat(dst, name.c_str(), perm, 0) != 0) {
          return ErrnoStatus(absl::StrCat("fchmodat(", rel, ")"), errno);
        }
        return Times(dst, name, st);
      }
      default:  // sockets mean nothing without their listener
        return absl::OkStatus();
    }
  }

  static absl::StatusOr<UniqueFd> OpenAt(int dir, const std::string& name, int flags) {
    const int fd = ::openat(dir, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(absl::StrCat("openat(", name, ")"), errno);
    return UniqueFd(fd);
  }
};

std::set<std::string> NoCopy(const nlohmann::json& spec) {
  std::set<std::string> out;
  if (!spec.contains("annotations") || !spec["annotations"].is_object()) return out;
  const nlohmann::json& a = spec["annotations"];
  auto it = a.find(volumes::kNoCopyAnnotation);
  if (it == a.end() || !it->is_string()) return out;
  nlohmann::json list = nlohmann::json::parse(it->get<std::string>(), nullptr, false);
  if (!list.is_array()) return out;
  for (const nlohmann::json& d : list) {
    if (d.is_string()) out.insert(path::Clean(d.get<std::string>()));
  }
  return out;
}

bool IsBind(const nlohmann::json& m) {
  if (m.value("type", "") == "bind") return true;
  if (!m.contains("options") || !m["options"].is_array()) return false;
  for (const nlohmann::json& o : m["options"]) {
    if (o == "bind" || o == "rbind") return true;
  }
  return false;
}

// One volume's copy-up; `data` is its _data directory.
absl::Status CopyUp(int rootfs_fd, const std::string& destination, const std::string& data) {
  const int fd = ::open(data.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open(", data, ")"), errno);
  UniqueFd dst(fd);
  ASSIGN_OR_RETURN(std::vector<std::string> there, Entries(dst.get()));
  if (!there.empty()) return absl::OkStatus();  // not new: its content is the user's
  absl::StatusOr<UniqueFd> src =
      OpenInRoot(rootfs_fd, destination, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (!src.ok()) {
    // Nothing in the image there (or not a directory): the volume starts empty.
    if (absl::IsNotFound(src.status()) || absl::IsFailedPrecondition(src.status()) ||
        absl::IsInvalidArgument(src.status())) {
      return absl::OkStatus();
    }
    return src.status();
  }
  Copier copier{.dst_root = dst.get()};
  RETURN_IF_ERROR(copier.Dir(src->get(), dst.get(), ""));
  struct stat st;
  if (::fstat(src->get(), &st) != 0) return ErrnoStatus("fstat", errno);
  if (::fchown(dst.get(), st.st_uid, st.st_gid) != 0) return ErrnoStatus("fchown", errno);
  if (::fchmod(dst.get(), st.st_mode & 07777) != 0) return ErrnoStatus("fchmod", errno);
  return absl::OkStatus();
}

}  // namespace

absl::Status CopyTree(int src_dir, int dst_dir) {
  Copier copier{.dst_root = dst_dir};
  return copier.Dir(src_dir, dst_dir, "");
}

absl::Status CopyUpVolumes(const std::string& rootfs, const nlohmann::json& spec,
                           const std::string& volumes_root) {
  if (!spec.contains("mounts") || !spec["mounts"].is_array()) return absl::OkStatus();
  const std::set<std::string> nocopy = NoCopy(spec);
  const std::string prefix = path::Clean(volumes_root) + "/";
  UniqueFd rootfs_fd;
  for (const nlohmann::json& m : spec["mounts"]) {
    if (!m.is_object() || !IsBind(m) || !m.contains("source") || !m["source"].is_string()) {
      continue;
    }
    const std::string source = path::Clean(m["source"].get<std::string>());
    const std::string destination = path::Clean(m.value("destination", "/"));
    if (!absl::StartsWith(source, prefix)) {
      if (path::IsAbsolute(source) && !sys::Exists(source)) {
        return absl::FailedPreconditionError(
            absl::StrCat("invalid mount config for ", destination,
                         ": bind source path does not exist: ", source));
      }
      continue;
    }
    // <ns>/<name>/_data, nothing more or less.
    std::vector<std::string> parts = absl::StrSplit(source.substr(prefix.size()), '/');
    if (parts.size() != 3 || parts[2] != "_data") continue;
    const std::string volume_dir = path::Dir(source);
    if (!sys::Exists(source)) {
      return absl::FailedPreconditionError(
          absl::StrCat("volume ", parts[1], " (mounted at ", destination,
                       ") has no data directory; it was removed: recreate the container"));
    }
    RETURN_IF_ERROR(
        Annotate(volumes::EnsureMounted(volume_dir), absl::StrCat("mounting volume ", parts[1])));
    if (nocopy.count(destination) > 0) continue;
    if (!rootfs_fd.valid()) {
      const int fd = ::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return ErrnoStatus(absl::StrCat("open(", rootfs, ")"), errno);
      rootfs_fd = UniqueFd(fd);
    }
    RETURN_IF_ERROR(
        Annotate(CopyUp(rootfs_fd.get(), destination, source),
                 absl::StrCat("copying the image's ", destination, " into volume ", parts[1])));
  }
  return absl::OkStatus();
}

}  // namespace berth::tasks
