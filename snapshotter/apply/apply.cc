#include "snapshotter/apply/apply.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <set>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/safe_path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/unique_fd.h"
#include "snapshotter/storage/fsutil.h"

namespace berth::snapshotter {
namespace {

constexpr char kWhiteoutPrefix[] = ".wh.";
constexpr char kOpaque[] = ".wh..wh..opq";

// openat2 with RESOLVE_BENEATH: fails (EXDEV) if resolving `rel` would leave `root` through
// "..", an absolute path or a symlink pointing either way.
absl::StatusOr<UniqueFd> OpenBeneath(int root, const std::string& rel, int flags, mode_t mode = 0) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  std::string p = rel.empty() ? "." : rel;
  int fd = static_cast<int>(
      sys::RetryEintr([&] { return ::syscall(SYS_openat2, root, p.c_str(), &how, sizeof(how)); }));
  if (fd < 0) return ErrnoStatus(absl::StrCat("openat2(", p, ", RESOLVE_BENEATH)"), errno);
  return UniqueFd(fd);
}

// The entry name as components, or an error if it is absolute or climbs.
absl::StatusOr<std::vector<std::string>> CleanName(const std::string& name) {
  if (absl::StartsWith(name, "/")) return absl::InvalidArgumentError("absolute name");
  std::vector<std::string> parts;
  for (absl::string_view p : absl::StrSplit(name, '/', absl::SkipEmpty())) {
    if (p == ".") continue;
    if (p == "..") return absl::InvalidArgumentError("name leaves the snapshot (\"..\")");
    parts.emplace_back(p);
  }
  return parts;
}

class Applier {
 public:
  Applier(int root, std::string dir, const ApplyOptions& options)
      : root_(root), dir_(std::move(dir)), options_(options) {}

  absl::Status Entry(struct archive* a, struct archive_entry* e);
  absl::Status Finish();

 private:
  // Opens (creating missing directories, 0755) the parent directory `parts` beneath root.
  absl::StatusOr<UniqueFd> Parent(const std::vector<std::string>& parts);
  absl::Status RemoveAt(int parent, const std::string& name);
  absl::Status SetMetadata(int parent, const std::string& name, struct archive_entry* e,
                           bool is_link);
  std::string PathAt(int fd, const std::string& name) const {
    return absl::StrCat(FdPath(fd), "/", name);
  }

  int root_;
  std::string dir_;
  ApplyOptions options_;
  std::set<std::string> added_;  // paths this layer made, for opaque dirs without overlay
  struct DirTime {
    std::string rel;
    struct timespec mtime;
  };
  std::vector<DirTime> dir_times_;
};

absl::StatusOr<UniqueFd> Applier::Parent(const std::vector<std::string>& parts) {
  ASSIGN_OR_RETURN(UniqueFd cur, OpenBeneath(root_, ".", O_PATH | O_DIRECTORY));
  std::string rel;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    rel = rel.empty() ? parts[i] : rel + "/" + parts[i];
    absl::StatusOr<UniqueFd> next = OpenBeneath(root_, rel, O_PATH | O_DIRECTORY);
    if (!next.ok() && absl::IsNotFound(next.status())) {
      struct stat st;
      if (::fstatat(cur.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        return next.status();  // a dangling symlink: never create through it
      }
      if (::mkdirat(cur.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoStatus(absl::StrCat("mkdir(", rel, ")"), errno);
      }
      next = OpenBeneath(root_, rel, O_PATH | O_DIRECTORY);
    }
    if (!next.ok()) {
      if (next.status().message().find("Invalid cross-device link") != std::string::npos) {
        return absl::PermissionDeniedError(
            absl::StrCat("\"", rel, "\" leads outside the snapshot through a symlink"));
      }
      return next.status();
    }
    cur = *std::move(next);
  }
  return cur;
}

absl::Status Applier::RemoveAt(int parent, const std::string& name) {
  struct stat st;
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(absl::StrCat("stat(", name, ")"), errno);
  }
  if (S_ISDIR(st.st_mode)) return RemoveAll(PathAt(parent, name));
  if (::unlinkat(parent, name.c_str(), 0) != 0) {
    return ErrnoStatus(absl::StrCat("unlink(", name, ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status Applier::SetMetadata(int parent, const std::string& name, struct archive_entry* e,
                                  bool is_link) {
  if (::fchownat(parent, name.c_str(), archive_entry_uid(e), archive_entry_gid(e),
                 AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(absl::StrCat("lchown(", name, ")"), errno);
  }
  const std::string path = PathAt(parent, name);
  archive_entry_xattr_reset(e);
  const char* xname;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
    // A layer may not forge overlay's own attributes (opaque dirs come from whiteouts only).
    if (absl::StartsWith(xname, "trusted.overlay.")) continue;
    if (::lsetxattr(path.c_str(), xname, value, size, 0) != 0) {
      return ErrnoStatus(absl::StrCat("lsetxattr(", name, ", ", xname, ")"), errno);
    }
  }
  if (!is_link && ::fchmodat(parent, name.c_str(), archive_entry_mode(e) & 07777, 0) != 0) {
    return ErrnoStatus(absl::StrCat("chmod(", name, ")"), errno);
  }
  struct timespec times[2];
  times[0].tv_sec = archive_entry_atime(e);
  times[0].tv_nsec = archive_entry_atime_nsec(e);
  times[1].tv_sec = archive_entry_mtime(e);
  times[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (!archive_entry_atime_is_set(e)) times[0] = times[1];
  if (::utimensat(parent, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(absl::StrCat("utimensat(", name, ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status Applier::Entry(struct archive* a, struct archive_entry* e) {
  const std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
  ASSIGN_OR_RETURN(std::vector<std::string> parts, CleanName(name));
  if (parts.empty()) return absl::OkStatus();  // "./": the root keeps its own attributes
  const std::string rel = absl::StrJoin(parts, "/");
  const std::string base = parts.back();
  ASSIGN_OR_RETURN(UniqueFd parent, Parent(parts));
  std::string dir_rel = rel.substr(0, rel.size() - base.size());
  if (!dir_rel.empty()) dir_rel.pop_back();

  if (base == kOpaque) {
    if (options_.overlay_whiteouts) {
      if (::setxattr(FdPath(parent.get()).c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
        return ErrnoStatus("setxattr(trusted.overlay.opaque)", errno);
      }
      return absl::OkStatus();
    }
    // Without overlay, drop what lower layers put here (but not what this layer added).
    ASSIGN_OR_RETURN(UniqueFd dirfd, OpenBeneath(root_, dir_rel, O_RDONLY | O_DIRECTORY));
    DIR* d = ::fdopendir(dirfd.Release());
    if (d == nullptr) return ErrnoStatus("fdopendir", errno);
    std::vector<std::string> drop;
    while (struct dirent* de = ::readdir(d)) {
      std::string n = de->d_name;
      if (n == "." || n == "..") continue;
      if (added_.count(dir_rel.empty() ? n : dir_rel + "/" + n) == 0) drop.push_back(n);
    }
    absl::Status st;
    for (const std::string& n : drop) {
      st.Update(RemoveAt(::dirfd(d), n));
    }
    ::closedir(d);
    return st;
  }
  if (absl::StartsWith(base, kWhiteoutPrefix)) {
    const std::string target = base.substr(strlen(kWhiteoutPrefix));
    if (target.empty() || target == "." || target == "..") {
      return absl::InvalidArgumentError("bad whiteout name");
    }
    RETURN_IF_ERROR(RemoveAt(parent.get(), target));
    if (options_.overlay_whiteouts) {
      if (::mknodat(parent.get(), target.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0) {
        return ErrnoStatus(absl::StrCat("mknod(whiteout ", target, ")"), errno);
      }
    }
    return absl::OkStatus();
  }

  const mode_t type = archive_entry_filetype(e);
  const char* hardlink = archive_entry_hardlink(e);
  struct stat existing;
  const bool exists = ::fstatat(parent.get(), base.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !(S_ISDIR(existing.st_mode) && type == AE_IFDIR && hardlink == nullptr)) {
    RETURN_IF_ERROR(RemoveAt(parent.get(), base));
  }
  added_.insert(rel);

  if (hardlink != nullptr) {
    absl::StatusOr<std::vector<std::string>> tparts = CleanName(hardlink);
    if (!tparts.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("hardlink target \"", hardlink, "\": ", tparts.status().message()));
    }
    absl::StatusOr<UniqueFd> target =
        OpenBeneath(root_, absl::StrJoin(*tparts, "/"), O_PATH | O_NOFOLLOW);
    if (!target.ok()) {
      return absl::Status(target.status().code(), absl::StrCat("hardlink target \"", hardlink,
                                                               "\" is not inside the snapshot: ",
                                                               target.status().message()));
    }
    if (::linkat(target->get(), "", parent.get(), base.c_str(), AT_EMPTY_PATH) != 0) {
      return ErrnoStatus(absl::StrCat("link(", hardlink, ", ", rel, ")"), errno);
    }
    return absl::OkStatus();
  }

  switch (type) {
    case AE_IFDIR:
      if (!exists || !S_ISDIR(existing.st_mode)) {
        if (::mkdirat(parent.get(), base.c_str(), 0700) != 0) {
          return ErrnoStatus(absl::StrCat("mkdir(", rel, ")"), errno);
        }
      }
      break;
    case AE_IFREG: {
      int fd = ::openat(parent.get(), base.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0) return ErrnoStatus(absl::StrCat("create(", rel, ")"), errno);
      UniqueFd out(fd);
      const void* buf;
      size_t len;
      la_int64_t off;
      int rc;
      while ((rc = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
        const char* p = static_cast<const char*>(buf);
        while (len > 0) {
          ssize_t n = sys::RetryEintr([&] { return ::pwrite(out.get(), p, len, off); });
          if (n < 0) return ErrnoStatus(absl::StrCat("write(", rel, ")"), errno);
          p += n;
          off += n;
          len -= n;
        }
      }
      if (rc != ARCHIVE_EOF) {
        return absl::DataLossError(absl::StrCat("reading data: ", archive_error_string(a)));
      }
      if (::ftruncate(out.get(), archive_entry_size(e)) != 0) {  // sparse tails
        return ErrnoStatus(absl::StrCat("ftruncate(", rel, ")"), errno);
      }
      break;
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (::symlinkat(target ? target : "", parent.get(), base.c_str()) != 0) {
        return ErrnoStatus(absl::StrCat("symlink(", rel, ")"), errno);
      }
      break;
    }
    case AE_IFIFO:
      if (::mknodat(parent.get(), base.c_str(), S_IFIFO | 0600, 0) != 0) {
        return ErrnoStatus(absl::StrCat("mkfifo(", rel, ")"), errno);
      }
      break;
    case AE_IFCHR:
    case AE_IFBLK:
      if (!options_.allow_devices) {
        return absl::PermissionDeniedError("device nodes are not allowed in layers");
      }
      if (::mknodat(parent.get(), base.c_str(), type | 0600, archive_entry_rdev(e)) != 0) {
        return ErrnoStatus(absl::StrCat("mknod(", rel, ")"), errno);
      }
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unsupported entry type ", type));
  }
  RETURN_IF_ERROR(SetMetadata(parent.get(), base, e, type == AE_IFLNK));
  if (type == AE_IFDIR) {
    dir_times_.push_back(
        {rel, {archive_entry_mtime(e), static_cast<long>(archive_entry_mtime_nsec(e))}});
  }
  return absl::OkStatus();
}

// Directory mtimes last: adding children changed them.
absl::Status Applier::Finish() {
  for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
    absl::StatusOr<UniqueFd> fd = OpenBeneath(root_, it->rel, O_PATH | O_DIRECTORY | O_NOFOLLOW);
    if (!fd.ok()) continue;  // removed later in the layer
    struct timespec times[2] = {it->mtime, it->mtime};
    if (::utimensat(AT_FDCWD, FdPath(fd->get()).c_str(), times, 0) != 0) {
      return ErrnoStatus(absl::StrCat("utimensat(", it->rel, ")"), errno);
    }
  }
  return absl::OkStatus();
}

// The decompressed stream, hashed as the tar reader pulls it.
struct Pipeline {
  const LayerReader* read;
  absl::Status read_status;
  std::vector<char> in_buf = std::vector<char>(1 << 20);
  struct archive* raw = nullptr;  // compressed → uncompressed (format "raw")
  Sha256 hash;
  int64_t size = 0;
  bool raw_eof = false;
};

la_ssize_t ReadCompressed(struct archive*, void* p, const void** buf) {
  auto* pl = static_cast<Pipeline*>(p);
  absl::StatusOr<size_t> n = (*pl->read)(pl->in_buf.data(), pl->in_buf.size());
  if (!n.ok()) {
    pl->read_status = n.status();
    return -1;
  }
  *buf = pl->in_buf.data();
  return static_cast<la_ssize_t>(*n);
}

la_ssize_t ReadUncompressed(struct archive*, void* p, const void** buf) {
  auto* pl = static_cast<Pipeline*>(p);
  if (pl->raw_eof) return 0;
  const void* block;
  size_t len;
  la_int64_t off;
  int rc = archive_read_data_block(pl->raw, &block, &len, &off);
  if (rc == ARCHIVE_EOF) {
    pl->raw_eof = true;
    return 0;
  }
  if (rc != ARCHIVE_OK) return -1;
  pl->hash.Update(absl::string_view(static_cast<const char*>(block), len));
  pl->size += static_cast<int64_t>(len);
  *buf = block;
  return static_cast<la_ssize_t>(len);
}

}  // namespace

absl::StatusOr<ApplyResult> ApplyLayer(const LayerReader& read, const std::string& dir,
                                       const ApplyOptions& options) {
  ASSIGN_OR_RETURN(UniqueFd root, sys::Open(dir, O_PATH | O_DIRECTORY));
  Pipeline pl;
  pl.read = &read;
  pl.raw = archive_read_new();
  absl::Cleanup free_raw = [&] { archive_read_free(pl.raw); };
  if (!options.decompressed) archive_read_support_filter_all(pl.raw);
  archive_read_support_format_raw(pl.raw);
  auto raw_error = [&](absl::string_view what) {
    if (!pl.read_status.ok()) return pl.read_status;
    return absl::DataLossError(absl::StrCat("layer ", what, ": ", archive_error_string(pl.raw)));
  };
  if (archive_read_open(pl.raw, &pl, nullptr, ReadCompressed, nullptr) != ARCHIVE_OK) {
    return raw_error("open");
  }
  struct archive_entry* re;
  if (archive_read_next_header(pl.raw, &re) != ARCHIVE_OK) return raw_error("decompress");

  struct archive* tar = archive_read_new();
  absl::Cleanup free_tar = [&] { archive_read_free(tar); };
  archive_read_support_format_tar(tar);
  if (archive_read_open(tar, &pl, nullptr, ReadUncompressed, nullptr) != ARCHIVE_OK) {
    return raw_error("open tar");
  }
  Applier applier(root.get(), dir, options);
  ApplyResult result;
  while (true) {
    struct archive_entry* e;
    int rc = archive_read_next_header(tar, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      if (!pl.read_status.ok()) return pl.read_status;
      return absl::DataLossError(absl::StrCat("layer: ", archive_error_string(tar)));
    }
    absl::Status st = applier.Entry(tar, e);
    if (!st.ok()) {
      return absl::Status(st.code(), absl::StrCat("layer entry \"", archive_entry_pathname(e),
                                                  "\": ", st.message()));
    }
    result.entries++;
  }
  RETURN_IF_ERROR(applier.Finish());
  // The tar reader stops at the end-of-archive blocks; the diff_id covers every byte.
  const void* buf;
  while (!pl.raw_eof) {
    if (ReadUncompressed(nullptr, &pl, &buf) < 0) return raw_error("trailer");
  }
  result.diff_id = pl.hash.Final().ToString();
  result.size = pl.size;
  return result;
}

}  // namespace berth::snapshotter
