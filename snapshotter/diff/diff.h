// Computing a layer: the changes of a snapshot against its parent as an OCI layer tar.
//
// Two ways to find the changes:
//  - overlay upper dir (`overlay_upper`): every entry of the upper dir is a change; 0:0
//    character devices become ".wh.NAME" whiteouts and a directory with the opaque xattr
//    (trusted.overlay.opaque or user.overlay.opaque = "y") gets a ".wh..wh..opq" entry. The
//    lower layers are not read.
//  - two trees (native, bind): `upper` is compared with `lower` (empty: an empty directory).
//    Entries whose type, mode, owner, xattrs, size, mtime (not for directories), device or
//    link target differ are emitted;
//    entries of `lower` missing from `upper` become ".wh.NAME". Unchanged parent directories
//    of an emitted entry are emitted too, so the layer carries their metadata.
//
// Entries are written in sorted order, a directory before its contents, in PAX format (so
// xattrs and nanosecond mtimes survive; trusted.overlay.* xattrs are left out). Hardlinked
// files become tar hardlinks to the first path emitted.
#ifndef BERTH_SNAPSHOTTER_DIFF_DIFF_H_
#define BERTH_SNAPSHOTTER_DIFF_DIFF_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::snapshotter {

enum class Compression { kNone, kGzip, kZstd };

struct DiffOptions {
  bool overlay_upper = false;
  Compression compression = Compression::kGzip;
};

struct DiffResult {
  std::string diff_id;  // "sha256:<hex>" of the uncompressed tar
  int64_t uncompressed_size = 0;
  std::string digest;  // "sha256:<hex>" of the bytes handed to the sink
  int64_t size = 0;
  int64_t entries = 0;  // tar entries, whiteouts included
};

// Receives the (compressed) layer in order, in chunks of up to about 1 MiB.
using LayerSink = std::function<absl::Status(absl::string_view)>;

absl::StatusOr<DiffResult> WriteDiff(const std::string& lower, const std::string& upper,
                                     const DiffOptions& options, const LayerSink& sink);

// The media type's compression: the OCI and Docker layer types; INVALID_ARGUMENT otherwise.
// Empty means gzip.
absl::StatusOr<Compression> CompressionForMediaType(absl::string_view media_type);

}  // namespace berth::snapshotter

#endif  // BERTH_SNAPSHOTTER_DIFF_DIFF_H_
