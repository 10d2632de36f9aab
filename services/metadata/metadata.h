// The metadata database of one berth root: <root>/metadata.db, SQLite in WAL mode, shared by
// every service hosted in this process. All access goes through one connection guarded by a
// mutex: that is the single writer path, and it keeps transactions from interleaving.
#ifndef BERTH_SERVICES_METADATA_METADATA_H_
#define BERTH_SERVICES_METADATA_METADATA_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/sqlite.h"
#include "services/metadata/migrations.h"

namespace berth::metadata {

// The SQLite wrapper moved to common/; metadata code keeps naming it unqualified.
using ::berth::sqlite::Db;
using ::berth::sqlite::Statement;
using ::berth::sqlite::Transaction;

inline constexpr char kMetadataFile[] = "metadata.db";

class Metadata {
 public:
  // Opens `path` (":memory:" for tests), sets WAL, busy_timeout and foreign keys, and brings
  // the schema up to date with `migrations`.
  static absl::StatusOr<std::unique_ptr<Metadata>> Open(
      const std::string& path, const std::vector<Migration>& migrations = Schema());

  // Runs `fn` inside a write transaction: committed if it returns OK, rolled back otherwise.
  absl::Status Update(const std::function<absl::Status(Db&)>& fn);
  // Runs `fn` inside a read transaction: a consistent snapshot across its statements.
  absl::Status View(const std::function<absl::Status(Db&)>& fn);

  const std::string& path() const { return path_; }

 private:
  Metadata(Db db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
  absl::Mutex mu_;
  Db db_ ABSL_GUARDED_BY(mu_);
  const std::string path_;
};

}  // namespace berth::metadata

#endif  // BERTH_SERVICES_METADATA_METADATA_H_
