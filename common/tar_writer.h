// A streaming tar writer: ustar headers, with a pax extended header for what ustar cannot
// hold (long names and link targets, sizes of 8 GiB and more, large ids). Enough for what
// berth writes from the client side (the build context) without linking libarchive, whose
// format table drags a dozen libraries into every CLI start.
#ifndef BERTH_COMMON_TAR_WRITER_H_
#define BERTH_COMMON_TAR_WRITER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth::tar {

struct Header {
  enum class Type { kFile, kHardlink, kSymlink, kDirectory };
  std::string name;  // relative, '/'-separated; a directory's trailing '/' is added here
  Type type = Type::kFile;
  uint32_t mode = 0644;  // permission bits (with setuid, setgid, sticky)
  uint64_t uid = 0, gid = 0;
  uint64_t size = 0;  // kFile only: the bytes that Write must then supply
  int64_t mtime = 0;  // seconds since the epoch
  std::string link;   // kSymlink: target; kHardlink: the earlier entry's name
};

class Writer {
 public:
  // `sink` takes the archive's bytes in order; false stops the writer (Aborted).
  explicit Writer(std::function<bool(absl::string_view)> sink) : sink_(std::move(sink)) {}

  // Starts an entry. The previous file entry must have had all its bytes.
  absl::Status Add(const Header& h);
  // Data of the current file entry; no more than its header's size in all.
  absl::Status Write(absl::string_view data);
  // Ends the archive (two zero blocks). The current entry must be complete.
  absl::Status Finish();

  uint64_t bytes() const { return bytes_; }

 private:
  absl::Status Emit(absl::string_view data);
  absl::Status EndEntry();

  std::function<bool(absl::string_view)> sink_;
  uint64_t left_ = 0;     // bytes the current entry still expects
  uint64_t padding_ = 0;  // zeros after the current entry's data, to a 512-byte boundary
  uint64_t bytes_ = 0;
  bool finished_ = false;
};

}  // namespace berth::tar

#endif  // BERTH_COMMON_TAR_WRITER_H_
