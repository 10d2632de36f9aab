#include "snapshotter/diff/diff.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth::snapshotter {
namespace {

constexpr size_t kChunk = 1 << 20;

// Hashes the uncompressed tar, compresses it, hashes and forwards the result in chunks.
class Output {
 public:
  Output(Compression c, const LayerSink& sink) : compression_(c), sink_(sink) {}
  ~Output() {
    if (zinit_) deflateEnd(&z_);
    if (zstd_ != nullptr) ZSTD_freeCCtx(zstd_);
  }

  absl::Status Init() {
    if (compression_ == Compression::kGzip) {
      if (deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
          Z_OK) {
        return absl::InternalError("deflateInit2 failed");
      }
      zinit_ = true;
    } else if (compression_ == Compression::kZstd) {
      zstd_ = ZSTD_createCCtx();
      if (zstd_ == nullptr) return absl::InternalError("ZSTD_createCCtx failed");
    }
    return absl::OkStatus();
  }

  absl::Status Write(const char* data, size_t n, bool last) {
    raw_sha_.Update(absl::string_view(data, n));
    raw_size_ += static_cast<int64_t>(n);
    if (compression_ == Compression::kNone) {
      buf_.append(data, n);
    } else if (compression_ == Compression::kGzip) {
      z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
      z_.avail_in = static_cast<uInt>(n);
      int rc;
      do {
        char out[64 * 1024];
        z_.next_out = reinterpret_cast<Bytef*>(out);
        z_.avail_out = sizeof(out);
        rc = deflate(&z_, last ? Z_FINISH : Z_NO_FLUSH);
        if (rc == Z_STREAM_ERROR) return absl::InternalError("deflate failed");
        buf_.append(out, sizeof(out) - z_.avail_out);
      } while (z_.avail_out == 0 || (last && rc != Z_STREAM_END));
    } else {
      ZSTD_inBuffer in{data, n, 0};
      size_t rem;
      do {
        char out[64 * 1024];
        ZSTD_outBuffer o{out, sizeof(out), 0};
        rem = ZSTD_compressStream2(zstd_, &o, &in, last ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(rem)) {
          return absl::InternalError(absl::StrCat("zstd: ", ZSTD_getErrorName(rem)));
        }
        buf_.append(out, o.pos);
      } while (in.pos < in.size || (last && rem != 0));
    }
    if (buf_.size() >= kChunk || last) return Flush();
    return absl::OkStatus();
  }

  absl::Status Flush() {
    if (buf_.empty()) return absl::OkStatus();
    sha_.Update(buf_);
    size_ += static_cast<int64_t>(buf_.size());
    absl::Status st = sink_(buf_);
    buf_.clear();
    return st;
  }

  void Result(DiffResult* r) {
    r->diff_id = raw_sha_.Final().ToString();
    r->uncompressed_size = raw_size_;
    r->digest = sha_.Final().ToString();
    r->size = size_;
  }

  absl::Status error;  // the first sink error, for libarchive's callback

 private:
  Compression compression_;
  const LayerSink& sink_;
  z_stream z_{};
  bool zinit_ = false;
  ZSTD_CCtx* zstd_ = nullptr;
  std::string buf_;
  Sha256 raw_sha_;
  Sha256 sha_;
  int64_t raw_size_ = 0;
  int64_t size_ = 0;
};

la_ssize_t WriteCallback(struct archive*, void* client, const void* buf, size_t n) {
  auto* out = static_cast<Output*>(client);
  absl::Status st = out->Write(static_cast<const char*>(buf), n, false);
  if (!st.ok()) {
    if (out->error.ok()) out->error = st;
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

std::string Join(const std::string& a, const std::string& b) {
  return a.empty() ? b : absl::StrCat(a, "/", b);
}

// Sorted names in `dir` (without "." and ".."); ENOENT/ENOTDIR give an empty list when
// `missing_ok`.
absl::StatusOr<std::vector<std::string>> ReadDir(const std::string& dir, bool missing_ok) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    if (missing_ok && (errno == ENOENT || errno == ENOTDIR)) return std::vector<std::string>{};
    return ErrnoStatus(absl::StrCat("opendir ", dir), errno);
  }
  absl::Cleanup close = [d] { closedir(d); };
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  if (errno != 0) return ErrnoStatus(absl::StrCat("readdir ", dir), errno);
  std::sort(names.begin(), names.end());
  return names;
}

// The xattrs a layer carries (all but overlayfs' own), sorted by name; empty when the
// filesystem has none or does not support them.
std::map<std::string, std::string> Xattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  ssize_t n = llistxattr(path.c_str(), nullptr, 0);
  if (n <= 0) return out;
  std::string names(static_cast<size_t>(n), '\0');
  n = llistxattr(path.c_str(), names.data(), names.size());
  if (n < 0) return out;
  names.resize(static_cast<size_t>(n));
  for (size_t i = 0; i < names.size();) {
    std::string name = names.c_str() + i;
    i += name.size() + 1;
    if (name.empty() || absl::StartsWith(name, "trusted.overlay.") ||
        absl::StartsWith(name, "user.overlay.")) {
      continue;
    }
    ssize_t vn = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (vn < 0) continue;
    std::string v(static_cast<size_t>(vn), '\0');
    vn = lgetxattr(path.c_str(), name.c_str(), v.data(), v.size());
    if (vn < 0) continue;
    v.resize(static_cast<size_t>(vn));
    out.emplace(std::move(name), std::move(v));
  }
  return out;
}

bool HasXattr(const std::string& path, const char* name) {
  return lgetxattr(path.c_str(), name, nullptr, 0) >= 0;
}

bool IsWhiteoutDevice(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == 0; }

std::string GetXattr(const std::string& path, const char* name) {
  char v[16];
  ssize_t n = lgetxattr(path.c_str(), name, v, sizeof(v));
  return n > 0 ? std::string(v, static_cast<size_t>(n)) : std::string();
}

class Differ {
 public:
  Differ(const std::string& lower, const std::string& upper, const DiffOptions& o, Output* out)
      : lower_(lower), upper_(upper), options_(o), out_(out) {}
  ~Differ() {
    if (a_ != nullptr) archive_write_free(a_);
  }

  absl::Status Run() {
    a_ = archive_write_new();
    if (a_ == nullptr) return absl::InternalError("archive_write_new failed");
    archive_write_set_format_pax(a_);
    archive_write_add_filter_none(a_);
    archive_write_set_bytes_per_block(a_, 64 * 1024);
    archive_write_set_bytes_in_last_block(a_, 1);
    if (archive_write_open(a_, out_, nullptr, WriteCallback, nullptr) != ARCHIVE_OK) {
      return ArchiveError("open");
    }
    if (options_.overlay_upper) {
      RETURN_IF_ERROR(WalkUpper(""));
    } else {
      RETURN_IF_ERROR(Compare("", !lower_.empty()));
    }
    if (archive_write_close(a_) != ARCHIVE_OK) return ArchiveError("close");
    return absl::OkStatus();
  }

  int64_t entries() const { return entries_; }

 private:
  absl::Status ArchiveError(absl::string_view what) {
    if (!out_->error.ok()) return out_->error;
    return absl::InternalError(
        absl::StrCat("writing the layer tar (", what, "): ", archive_error_string(a_)));
  }

  // Overlay: every entry of the upper dir is a change.
  absl::Status WalkUpper(const std::string& rel) {
    const std::string dir = rel.empty() ? upper_ : Join(upper_, rel);
    ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDir(dir, false));
    for (const std::string& name : names) {
      const std::string r = Join(rel, name);
      const std::string path = Join(upper_, r);
      struct stat st;
      if (lstat(path.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("lstat ", path), errno);
      if (IsWhiteoutDevice(st)) {
        RETURN_IF_ERROR(Whiteout(Join(rel, absl::StrCat(".wh.", name)), st));
        continue;
      }
      // A redirected directory (renamed inside the mount) or a metacopy file keeps its
      // contents in the lower layers, which this walk does not read: the layer would lose
      // them. Our mounts set redirect_dir=off (which also turns metacopy off), so only a
      // mount made elsewhere can leave these.
      for (const char* x : {"trusted.overlay.redirect", "user.overlay.redirect",
                            "trusted.overlay.metacopy", "user.overlay.metacopy"}) {
        if (HasXattr(path, x)) {
          return absl::FailedPreconditionError(
              absl::StrCat("overlay upper dir entry \"", r, "\" has ", x,
                           ": its contents are in the lower layers (mount with "
                           "redirect_dir=off,metacopy=off, or diff the two trees)"));
        }
      }
      RETURN_IF_ERROR(Emit(r, path, st));
      if (S_ISDIR(st.st_mode)) {
        if (GetXattr(path, "trusted.overlay.opaque") == "y" ||
            GetXattr(path, "user.overlay.opaque") == "y") {
          RETURN_IF_ERROR(Whiteout(Join(r, ".wh..wh..opq"), st));
        }
        RETURN_IF_ERROR(WalkUpper(r));
      }
    }
    return absl::OkStatus();
  }

  static bool Same(const struct stat& a, const struct stat& b, const std::string& apath,
                   const std::string& bpath) {
    if ((a.st_mode & S_IFMT) != (b.st_mode & S_IFMT) || a.st_mode != b.st_mode ||
        a.st_uid != b.st_uid || a.st_gid != b.st_gid) {
      return false;
    }
    // Setting an xattr (a file capability, an ACL) changes only the ctime, which a copy
    // cannot keep, so the xattrs themselves are compared.
    if (Xattrs(apath) != Xattrs(bpath)) return false;
    // Contents are compared entry by entry; a directory's mtime moves with every child added
    // or removed (as Docker, it is not a change of its own).
    if (S_ISDIR(a.st_mode)) return true;
    if (a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec) {
      return false;
    }
    if (S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode)) return a.st_rdev == b.st_rdev;
    if (a.st_size != b.st_size) return false;
    if (S_ISLNK(a.st_mode)) {
      char x[4096], y[4096];
      ssize_t nx = readlink(apath.c_str(), x, sizeof(x));
      ssize_t ny = readlink(bpath.c_str(), y, sizeof(y));
      return nx == ny && nx >= 0 && std::equal(x, x + nx, y);
    }
    return true;
  }

  // Two trees: `upper_/rel` against `lower_/rel` (`has_lower`: the latter is a directory).
  absl::Status Compare(const std::string& rel, bool has_lower) {
    const std::string udir = rel.empty() ? upper_ : Join(upper_, rel);
    const std::string ldir = rel.empty() ? lower_ : Join(lower_, rel);
    ASSIGN_OR_RETURN(std::vector<std::string> unames, ReadDir(udir, false));
    std::vector<std::string> lnames;
    if (has_lower) {
      ASSIGN_OR_RETURN(lnames, ReadDir(ldir, true));
    }
    // Deletions first, in name order like the rest.
    for (const std::string& name : lnames) {
      if (!std::binary_search(unames.begin(), unames.end(), name)) {
        struct stat st;
        if (lstat(udir.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("lstat ", udir), errno);
        RETURN_IF_ERROR(Whiteout(Join(rel, absl::StrCat(".wh.", name)), st));
      }
    }
    for (const std::string& name : unames) {
      const std::string r = Join(rel, name);
      const std::string upath = Join(udir, name);
      const std::string lpath = Join(ldir, name);
      struct stat us, ls;
      if (lstat(upath.c_str(), &us) != 0) {
        return ErrnoStatus(absl::StrCat("lstat ", upath), errno);
      }
      bool in_lower = has_lower && std::binary_search(lnames.begin(), lnames.end(), name);
      if (in_lower && lstat(lpath.c_str(), &ls) != 0) {
        return ErrnoStatus(absl::StrCat("lstat ", lpath), errno);
      }
      bool same = in_lower && Same(us, ls, upath, lpath);
      if (S_ISDIR(us.st_mode)) {
        if (same) {
          pending_.push_back({r, upath, us});
        } else {
          RETURN_IF_ERROR(Emit(r, upath, us));
        }
        RETURN_IF_ERROR(Compare(r, in_lower && S_ISDIR(ls.st_mode)));
        if (same && !pending_.empty() && pending_.back().rel == r) pending_.pop_back();
      } else if (!same) {
        RETURN_IF_ERROR(Emit(r, upath, us));
      }
    }
    return absl::OkStatus();
  }

  // Writes the unchanged directories above the next entry.
  absl::Status FlushPending() {
    std::vector<Pending> p = std::move(pending_);
    pending_.clear();
    for (const Pending& d : p) RETURN_IF_ERROR(EmitNow(d.rel, d.path, d.st));
    return absl::OkStatus();
  }

  absl::Status Whiteout(const std::string& rel, const struct stat& like) {
    RETURN_IF_ERROR(FlushPending());
    struct archive_entry* e = archive_entry_new();
    absl::Cleanup free = [e] { archive_entry_free(e); };
    archive_entry_set_pathname(e, rel.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0);
    archive_entry_set_size(e, 0);
    archive_entry_set_mtime(e, like.st_mtim.tv_sec, like.st_mtim.tv_nsec);
    if (archive_write_header(a_, e) != ARCHIVE_OK) return ArchiveError(rel);
    ++entries_;
    return absl::OkStatus();
  }

  absl::Status Emit(const std::string& rel, const std::string& path, const struct stat& st) {
    RETURN_IF_ERROR(FlushPending());
    return EmitNow(rel, path, st);
  }

  absl::Status EmitNow(const std::string& rel, const std::string& path, const struct stat& st) {
    if (S_ISSOCK(st.st_mode)) return absl::OkStatus();  // tar cannot carry sockets
    struct archive_entry* e = archive_entry_new();
    absl::Cleanup free = [e] { archive_entry_free(e); };
    archive_entry_copy_stat(e, &st);
    // Only the mtime: atime moves when the file is read (by the previous diff, say) and ctime
    // with any metadata change, so carrying them would make the same changes a new blob.
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    archive_entry_unset_birthtime(e);
    archive_entry_set_pathname(e, rel.c_str());
    archive_entry_set_uname(e, "");
    archive_entry_set_gname(e, "");
    const bool regular = S_ISREG(st.st_mode);
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
      if (n < 0) return ErrnoStatus(absl::StrCat("readlink ", path), errno);
      target[n] = '\0';
      archive_entry_set_symlink(e, target);
      archive_entry_set_size(e, 0);
    } else if (!regular) {
      archive_entry_set_size(e, 0);
    }
    RETURN_IF_ERROR(AddXattrs(e, path));
    bool link = false;
    if (regular && st.st_nlink > 1) {
      auto [it, fresh] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
      if (!fresh) {
        archive_entry_set_hardlink(e, it->second.c_str());
        archive_entry_set_size(e, 0);
        link = true;
      }
    }
    if (archive_write_header(a_, e) != ARCHIVE_OK) return ArchiveError(rel);
    ++entries_;
    if (regular && !link && st.st_size > 0) {
      int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path), errno);
      absl::Cleanup close = [fd] { ::close(fd); };
      std::vector<char> buf(256 * 1024);
      int64_t left = st.st_size;
      while (left > 0) {
        ssize_t n = sys::RetryEintr([&] { return read(fd, buf.data(), buf.size()); });
        if (n < 0) return ErrnoStatus(absl::StrCat("read ", path), errno);
        if (n == 0) return absl::AbortedError(absl::StrCat(path, " shrank while diffing"));
        size_t take = static_cast<size_t>(std::min<int64_t>(n, left));
        if (archive_write_data(a_, buf.data(), take) < 0) return ArchiveError(rel);
        left -= static_cast<int64_t>(take);
      }
    }
    return absl::OkStatus();
  }

  absl::Status AddXattrs(struct archive_entry* e, const std::string& path) {
    for (const auto& [name, value] : Xattrs(path)) {
      archive_entry_xattr_add_entry(e, name.c_str(), value.data(), value.size());
    }
    return absl::OkStatus();
  }

  struct Pending {
    std::string rel;
    std::string path;
    struct stat st;
  };

  const std::string lower_;
  const std::string upper_;
  const DiffOptions options_;
  Output* out_;
  struct archive* a_ = nullptr;
  std::vector<Pending> pending_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  int64_t entries_ = 0;
};

}  // namespace

absl::StatusOr<Compression> CompressionForMediaType(absl::string_view media_type) {
  if (media_type.empty() || media_type == "application/vnd.oci.image.layer.v1.tar+gzip" ||
      media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip") {
    return Compression::kGzip;
  }
  if (media_type == "application/vnd.oci.image.layer.v1.tar+zstd") return Compression::kZstd;
  if (media_type == "application/vnd.oci.image.layer.v1.tar" ||
      media_type == "application/vnd.docker.image.rootfs.diff.tar") {
    return Compression::kNone;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("media type \"", media_type, "\" is not a layer type diff can write"));
}

absl::StatusOr<DiffResult> WriteDiff(const std::string& lower, const std::string& upper,
                                     const DiffOptions& options, const LayerSink& sink) {
  Output out(options.compression, sink);
  RETURN_IF_ERROR(out.Init());
  Differ differ(lower, upper, options, &out);
  RETURN_IF_ERROR(differ.Run());
  RETURN_IF_ERROR(out.Write("", 0, /*last=*/true));
  DiffResult r;
  out.Result(&r);
  r.entries = differ.entries();
  return r;
}

}  // namespace berth::snapshotter
