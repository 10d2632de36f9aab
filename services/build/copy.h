// What COPY and ADD do to the files, as Docker does it: sources (already matched by
// MatchSources) from one tree into a destination inside an image's root. A source directory's
// contents are copied (not the directory itself); a file goes to DEST, or into DEST when DEST
// ends with '/' or is a directory; missing parents of DEST are made (0755, owned like the
// copied files). Modes, times, xattrs, symlinks (below the source, not followed), hardlinks,
// fifos and devices are kept. Owners are 0:0, or the sources' own (COPY --from), or --chown;
// --chmod sets the permission bits of everything copied. With `unpack_archives` (ADD) a
// local tar (plain or compressed) is extracted into DEST instead.
//
// Both trees are reached through fds and every path is resolved inside its tree (openat2
// RESOLVE_IN_ROOT), so no symlink in either can lead a write outside the image's root.
#ifndef BERTH_SERVICES_BUILD_COPY_H_
#define BERTH_SERVICES_BUILD_COPY_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"

namespace berth::build {

struct Owner {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct CopyOptions {
  absl::optional<Owner> chown;   // --chown
  bool keep_owner = false;       // without --chown: the sources' owners (else 0:0)
  absl::optional<mode_t> chmod;  // --chmod
  bool unpack_archives = false;  // ADD
};

// Copies `paths` (relative to src_root, "." for the top) to `dest` (absolute in dst_root;
// a trailing '/' marks a directory). INVALID_ARGUMENT for several sources into a
// destination that is not a directory, and for a file over a directory.
absl::Status CopyInto(int src_root_fd, const std::vector<std::string>& paths, int dst_root_fd,
                      const std::string& dest, const CopyOptions& options);

// Makes directory `dir` (absolute in root) and its missing parents, owned by `owner`, mode
// 0755; true when `dir` itself was made.
absl::StatusOr<bool> MakeDirs(int root_fd, const std::string& dir, const Owner& owner);

// --chmod=0755: octal permission bits (at most 07777).
absl::StatusOr<mode_t> ParseChmod(const std::string& text);

// Whether the file is a tar archive libarchive can read (plain, gzip, bzip2, xz, zstd…).
bool IsArchive(int fd);

}  // namespace berth::build

#endif  // BERTH_SERVICES_BUILD_COPY_H_
