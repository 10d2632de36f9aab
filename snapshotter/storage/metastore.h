// The metastore every directory-based snapshotter keeps beside its layers:
// <root>/snapshots/<name>/metadata.db (SQLite), one row per snapshot with a short numeric id
// that names the snapshot's directory. Ids are never reused (AUTOINCREMENT), so a directory
// left over from a crash can never be mistaken for a new snapshot's.
//
// Thread-safe: one mutex around one connection.
#ifndef BERTH_SNAPSHOTTER_STORAGE_METASTORE_H_
#define BERTH_SNAPSHOTTER_STORAGE_METASTORE_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/sqlite.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

// What a snapshotter needs to build mounts: its id, kind, and its ancestors' ids, nearest
// first.
struct SnapshotRef {
  int64_t id = 0;
  Kind kind = Kind::kUnknown;
  std::vector<int64_t> parent_ids;
};

class MetaStore {
 public:
  static absl::StatusOr<std::unique_ptr<MetaStore>> Open(const std::string& path);

  // `make` runs inside the transaction with the new snapshot; if it fails, nothing is
  // recorded. ALREADY_EXISTS, NOT_FOUND (parent), FAILED_PRECONDITION (parent not committed).
  absl::StatusOr<SnapshotRef> Create(Kind kind, const std::string& key, const std::string& parent,
                                     const Labels& labels,
                                     const std::function<absl::Status(const SnapshotRef&)>& make);
  absl::StatusOr<SnapshotRef> Get(const std::string& key);
  absl::StatusOr<Info> GetInfo(const std::string& key);
  absl::StatusOr<Info> UpdateInfo(const Info& info, const std::vector<std::string>& paths);
  // Renames active `key` to committed `name`, recording `usage`.
  absl::StatusOr<int64_t> Commit(const std::string& key, const std::string& name,
                                 const Labels& labels, const Usage& usage);
  // Usage recorded at commit (nullopt-like: size -1 when not committed).
  absl::StatusOr<Usage> CommittedUsage(const std::string& key);
  // Deletes the row; `done` runs inside the transaction with the id (to move the directory
  // aside) and a failure keeps the row. FAILED_PRECONDITION if it has children.
  absl::StatusOr<int64_t> Remove(const std::string& key,
                                 const std::function<absl::Status(int64_t id)>& done);
  absl::Status Walk(const std::function<absl::Status(const Info&)>& fn);
  absl::StatusOr<std::set<int64_t>> Ids();

 private:
  explicit MetaStore(sqlite::Db db) : db_(std::move(db)) {}
  absl::StatusOr<Info> GetInfoLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<SnapshotRef> GetLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SetLabelsLocked(int64_t id, const Labels& labels) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite::Db db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::snapshotter

#endif  // BERTH_SNAPSHOTTER_STORAGE_METASTORE_H_
