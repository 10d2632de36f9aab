// Test helper: builds layer tars in memory with libarchive (pax format, optional gzip/zstd).
#ifndef BERTH_SNAPSHOTTER_APPLY_TAR_BUILDER_H_
#define BERTH_SNAPSHOTTER_APPLY_TAR_BUILDER_H_

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <map>
#include <string>

namespace berth::snapshotter::testing {

struct Opts {
  unsigned mode = 0644;
  int uid = 0, gid = 0;
  long mtime = 1700000000;
  std::map<std::string, std::string> xattrs;
};

class TarBuilder {
 public:
  enum class Compression { kNone, kGzip, kZstd };
  explicit TarBuilder(Compression c = Compression::kNone) : a_(archive_write_new()) {
    archive_write_set_format_pax_restricted(a_);
    if (c == Compression::kGzip) archive_write_add_filter_gzip(a_);
    if (c == Compression::kZstd) archive_write_add_filter_zstd(a_);
    archive_write_set_bytes_in_last_block(a_, 1);
    archive_write_open(a_, &out_, nullptr, Write, nullptr);
  }
  ~TarBuilder() {
    if (a_ != nullptr) archive_write_free(a_);
  }

  TarBuilder& Dir(const std::string& name, Opts o = {.mode = 0755}) {
    return Add(name, AE_IFDIR, o, "", "", "");
  }
  TarBuilder& File(const std::string& name, const std::string& data, Opts o = {}) {
    return Add(name, AE_IFREG, o, data, "", "");
  }
  TarBuilder& Symlink(const std::string& name, const std::string& target) {
    return Add(name, AE_IFLNK, {.mode = 0777}, "", target, "");
  }
  TarBuilder& Hardlink(const std::string& name, const std::string& target) {
    return Add(name, AE_IFREG, {}, "", "", target);
  }
  TarBuilder& CharDevice(const std::string& name) { return Add(name, AE_IFCHR, {}, "", "", ""); }
  std::string Finish() {
    archive_write_close(a_);
    archive_write_free(a_);
    a_ = nullptr;
    return out_;
  }

 private:
  static la_ssize_t Write(struct archive*, void* p, const void* buf, size_t n) {
    static_cast<std::string*>(p)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  TarBuilder& Add(const std::string& name, unsigned type, const Opts& o, const std::string& data,
                  const std::string& symlink, const std::string& hardlink) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, o.mode);
    archive_entry_set_uid(e, o.uid);
    archive_entry_set_gid(e, o.gid);
    archive_entry_set_mtime(e, o.mtime, 0);
    if (type == AE_IFCHR) archive_entry_set_rdev(e, makedev(1, 3));
    if (!symlink.empty()) archive_entry_set_symlink(e, symlink.c_str());
    if (!hardlink.empty()) archive_entry_set_hardlink(e, hardlink.c_str());
    for (const auto& [k, v] : o.xattrs)
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_write_header(a_, e);
    if (!data.empty()) archive_write_data(a_, data.data(), data.size());
    archive_entry_free(e);
    return *this;
  }
  struct archive* a_;
  std::string out_;
};

}  // namespace berth::snapshotter::testing

#endif  // BERTH_SNAPSHOTTER_APPLY_TAR_BUILDER_H_
