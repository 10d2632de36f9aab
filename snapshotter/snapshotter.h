// Snapshotter: the one interface every snapshotter implements (overlayfs, native, and the
// proxy client for plugins on their own socket), with containerd's semantics.
//
// A snapshot is ACTIVE (writable, made by Prepare), VIEW (read-only, made by View) or
// COMMITTED (made from an active one by Commit, immutable, usable as a parent). Active and
// view snapshots are named by a key; committed ones by a name; keys and names share one space.
// Each snapshot has at most one parent, which is always committed, so snapshots form chains.
// Keys are opaque here: the snapshots service namespaces them before they arrive.
#ifndef BERTH_SNAPSHOTTER_SNAPSHOTTER_H_
#define BERTH_SNAPSHOTTER_SNAPSHOTTER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace berth::snapshotter {

using Labels = std::map<std::string, std::string>;

enum class Kind { kUnknown = 0, kView = 1, kActive = 2, kCommitted = 3 };

// "view", "active", "committed" (as filters spell them).
const char* KindName(Kind kind);

struct Info {
  std::string name;    // key (active, view) or name (committed)
  std::string parent;  // committed name of the parent; empty for a base
  Kind kind = Kind::kUnknown;
  absl::Time created;
  absl::Time updated;
  Labels labels;
};

// One mount, fstab style, as the API's berth.types.v1.Mount.
struct Mount {
  std::string type;                  // "bind", "overlay"
  std::string source;                // a directory, or "overlay"
  std::vector<std::string> options;  // "ro", "rbind", "lowerdir=…", "upperdir=…", …
};

struct Usage {
  int64_t size = 0;  // bytes of the snapshot's own layer (not its parents')
  int64_t inodes = 0;
};

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  // NOT_FOUND when `key` names no snapshot.
  virtual absl::StatusOr<Info> Stat(const std::string& key) = 0;
  // Changes labels of `info.name`. `paths` are "labels" or "labels.<key>"; empty replaces all
  // labels. Other paths are INVALID_ARGUMENT.
  virtual absl::StatusOr<Info> Update(const Info& info, const std::vector<std::string>& paths) = 0;
  // Committed snapshots report the usage measured at commit; others are measured now.
  virtual absl::StatusOr<Usage> GetUsage(const std::string& key) = 0;
  // Mounts of an active or view snapshot (FAILED_PRECONDITION for a committed one).
  virtual absl::StatusOr<std::vector<Mount>> Mounts(const std::string& key) = 0;
  // ALREADY_EXISTS if the key is taken; NOT_FOUND if the parent is missing; FAILED_PRECONDITION
  // if the parent is not committed.
  virtual absl::StatusOr<std::vector<Mount>> Prepare(const std::string& key,
                                                     const std::string& parent,
                                                     const Labels& labels) = 0;
  virtual absl::StatusOr<std::vector<Mount>> View(const std::string& key, const std::string& parent,
                                                  const Labels& labels) = 0;
  // Turns active `key` into committed `name`; `key` is gone afterwards.
  virtual absl::Status Commit(const std::string& name, const std::string& key,
                              const Labels& labels) = 0;
  // FAILED_PRECONDITION if another snapshot has this one as its parent.
  virtual absl::Status Remove(const std::string& key) = 0;
  // Calls `fn` for every snapshot matching any of `filters` (common/filter.h syntax; fields
  // name, parent, kind, labels.<key>). An error from `fn` stops the walk and is returned.
  virtual absl::Status Walk(const std::function<absl::Status(const Info&)>& fn,
                            const std::vector<std::string>& filters) = 0;
  // Removes directories that no snapshot owns (left by a crash mid-Remove).
  virtual absl::Status Cleanup() = 0;
};

}  // namespace berth::snapshotter

#endif  // BERTH_SNAPSHOTTER_SNAPSHOTTER_H_
