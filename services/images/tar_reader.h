// A streaming tar reader over libarchive: the archive arrives in chunks from a callback (a
// gRPC stream), entries are read one after another, and nothing is written to disk here.
// gzip, bzip2, xz and zstd compressed archives are read too, as `docker load` reads them.
#ifndef BERTH_SERVICES_IMAGES_TAR_READER_H_
#define BERTH_SERVICES_IMAGES_TAR_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

struct archive;

namespace berth::images {

// Returns the next chunk of the archive, or an empty view at its end. The view stays valid
// until the next call.
using ChunkSource = std::function<absl::StatusOr<absl::string_view>()>;

struct TarEntry {
  enum class Type { kFile, kDirectory, kLink, kOther };
  std::string path;  // without a leading "./" or trailing "/"
  Type type = Type::kOther;
  int64_t size = 0;
  std::string link;  // kLink: the path it points to, resolved against the entry's directory
};

class TarReader {
 public:
  static absl::StatusOr<std::unique_ptr<TarReader>> Open(ChunkSource source);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next entry's header, or nullopt at the end of the archive. A truncated archive is
  // DATA_LOSS.
  absl::StatusOr<absl::optional<TarEntry>> Next();
  // Reads up to `n` bytes of the current entry; 0 at its end.
  absl::StatusOr<size_t> Read(char* buf, size_t n);
  // Bytes of the archive consumed so far (compressed, as received).
  int64_t consumed() const { return consumed_; }

 private:
  explicit TarReader(ChunkSource source) : source_(std::move(source)) {}
  static long ReadCallback(struct archive* a, void* self, const void** buf);  // NOLINT
  absl::Status Error(absl::string_view what);

  ChunkSource source_;
  struct archive* archive_ = nullptr;
  absl::Status source_status_;
  int64_t consumed_ = 0;
};

}  // namespace berth::images

#endif  // BERTH_SERVICES_IMAGES_TAR_READER_H_
