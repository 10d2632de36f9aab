// Applying an OCI image layer (a tar, plain, gzip or zstd) to a directory, safely.
//
// Every entry is placed relative to the directory: names that are absolute or contain ".."
// are refused, and each entry's parent is opened with openat2(RESOLVE_BENEATH), so a symlink
// in the tree (from this layer or a lower one) can never lead a write outside; hardlinks may
// only point at files inside; device nodes are refused unless allowed. Modes (setuid too),
// owners, xattrs and mtimes are kept.
//
// Whiteouts: with `overlay_whiteouts` (applying straight into an overlay upper dir), ".wh.NAME"
// becomes a 0:0 character device NAME and ".wh..wh..opq" sets trusted.overlay.opaque=y on its
// directory. Without it (a directory that already holds the lower layers, e.g. native), they
// delete NAME, or everything in the directory that this layer did not itself add.
#ifndef BERTH_SNAPSHOTTER_APPLY_APPLY_H_
#define BERTH_SNAPSHOTTER_APPLY_APPLY_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/digest.h"

namespace berth::snapshotter {

struct ApplyOptions {
  bool overlay_whiteouts = false;
  // Character and block devices other than whiteouts.
  bool allow_devices = false;
  // The reader gives the uncompressed tar already (decompressed elsewhere): no filter is
  // tried on it, so a tar whose first bytes happen to look like a compressor's magic is safe.
  bool decompressed = false;
};

struct ApplyResult {
  std::string diff_id;  // "sha256:<hex>" of the uncompressed tar: the layer's diff_id
  int64_t size = 0;     // its size
  int64_t entries = 0;
};

// Reads up to `n` bytes of the (possibly compressed) layer into `buf`; 0 at the end.
using LayerReader = std::function<absl::StatusOr<size_t>(char* buf, size_t n)>;

// Errors name the entry: `layer entry "../x": name leaves the snapshot`.
absl::StatusOr<ApplyResult> ApplyLayer(const LayerReader& read, const std::string& dir,
                                       const ApplyOptions& options);

}  // namespace berth::snapshotter

#endif  // BERTH_SNAPSHOTTER_APPLY_APPLY_H_
