#include "services/images/tar_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace berth::images {
namespace {

std::string CleanPath(absl::string_view p) {
  std::vector<std::string> parts;
  for (absl::string_view c : absl::StrSplit(p, '/', absl::SkipEmpty())) {
    if (c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.emplace_back(c);
  }
  return absl::StrJoin(parts, "/");
}

}  // namespace

long TarReader::ReadCallback(struct archive* a, void* self, const void** buf) {  // NOLINT
  auto* r = static_cast<TarReader*>(self);
  absl::StatusOr<absl::string_view> chunk = r->source_();
  if (!chunk.ok()) {
    r->source_status_ = chunk.status();
    archive_set_error(a, EIO, "%s", std::string(chunk.status().message()).c_str());
    return -1;
  }
  *buf = chunk->data();
  r->consumed_ += static_cast<int64_t>(chunk->size());
  return static_cast<long>(chunk->size());  // NOLINT
}

absl::StatusOr<std::unique_ptr<TarReader>> TarReader::Open(ChunkSource source) {
  std::unique_ptr<TarReader> r(new TarReader(std::move(source)));
  r->archive_ = archive_read_new();
  if (r->archive_ == nullptr) return absl::ResourceExhaustedError("archive_read_new failed");
  archive_read_support_format_tar(r->archive_);
  archive_read_support_filter_gzip(r->archive_);
  archive_read_support_filter_bzip2(r->archive_);
  archive_read_support_filter_xz(r->archive_);
  archive_read_support_filter_zstd(r->archive_);
  if (archive_read_open(r->archive_, r.get(), nullptr, &TarReader::ReadCallback, nullptr) !=
      ARCHIVE_OK) {
    return r->Error("opening the archive");
  }
  return r;
}

TarReader::~TarReader() {
  if (archive_ != nullptr) archive_read_free(archive_);
}

absl::Status TarReader::Error(absl::string_view what) {
  if (!source_status_.ok()) return source_status_;
  const char* msg = archive_error_string(archive_);
  std::string text = msg != nullptr ? msg : "unknown error";
  const std::string full = absl::StrCat("the archive is not a valid tar: ", what, ": ", text);
  // libarchive says "Truncated tar archive" (or "…detected while reading data").
  if (absl::StrContains(text, "runcated")) {
    return absl::DataLossError(absl::StrCat("the archive is truncated: ", what, ": ", text,
                                            " (after ", consumed_, " bytes)"));
  }
  return absl::InvalidArgumentError(full);
}

absl::StatusOr<absl::optional<TarEntry>> TarReader::Next() {
  struct archive_entry* e = nullptr;
  const int rc = archive_read_next_header(archive_, &e);
  if (rc == ARCHIVE_EOF) return absl::optional<TarEntry>();
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return Error("reading an entry header");
  TarEntry entry;
  const char* name = archive_entry_pathname(e);
  if (name == nullptr) name = archive_entry_pathname_utf8(e);
  entry.path = CleanPath(name != nullptr ? name : "");
  entry.size = archive_entry_size(e);
  const char* hardlink = archive_entry_hardlink(e);
  if (hardlink != nullptr) {
    entry.type = TarEntry::Type::kLink;
    entry.link = CleanPath(hardlink);  // tar hardlinks name paths from the archive's root
    entry.size = 0;
    return absl::optional<TarEntry>(std::move(entry));
  }
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
      entry.type = TarEntry::Type::kFile;
      break;
    case AE_IFDIR:
      entry.type = TarEntry::Type::kDirectory;
      break;
    case AE_IFLNK: {
      entry.type = TarEntry::Type::kLink;
      const char* target = archive_entry_symlink(e);
      std::string t = target != nullptr ? target : "";
      const size_t slash = entry.path.rfind('/');
      const std::string dir = slash == std::string::npos ? "" : entry.path.substr(0, slash);
      entry.link = CleanPath(absl::StartsWith(t, "/") ? t : absl::StrCat(dir, "/", t));
      break;
    }
    default:
      entry.type = TarEntry::Type::kOther;
  }
  return absl::optional<TarEntry>(std::move(entry));
}

absl::StatusOr<size_t> TarReader::Read(char* buf, size_t n) {
  const la_ssize_t got = archive_read_data(archive_, buf, n);
  if (got < 0) return Error("reading entry data");
  return static_cast<size_t>(got);
}

}  // namespace berth::images
