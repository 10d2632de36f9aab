#include "services/metadata/metadata.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace berth::metadata {
namespace {

// Long enough to ride out another process's checkpoint; short enough that a wedged writer
// shows up as an error instead of a hang.
constexpr int kBusyTimeoutMs = 10000;

}  // namespace

absl::StatusOr<std::unique_ptr<Metadata>> Metadata::Open(const std::string& path,
                                                         const std::vector<Migration>& migrations) {
  ASSIGN_OR_RETURN(Db db, Db::Open(path));
  auto context = absl::StrCat("opening metadata database ", path);
  // journal_mode answers with the mode it got: an in-memory database stays "memory".
  absl::Status st = db.Exec(absl::StrCat("PRAGMA busy_timeout = ", kBusyTimeoutMs));
  if (st.ok()) st = db.Exec("PRAGMA journal_mode = WAL");
  // FULL: a committed transaction survives a power cut, which WAL's NORMAL does not promise.
  if (st.ok()) st = db.Exec("PRAGMA synchronous = FULL");
  if (st.ok()) st = db.Exec("PRAGMA foreign_keys = ON");
  if (st.ok()) st = Migrate(db, migrations);
  if (!st.ok()) return Annotate(st, context);
  return std::unique_ptr<Metadata>(new Metadata(std::move(db), path));
}

absl::Status Metadata::Update(const std::function<absl::Status(Db&)>& fn) {
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(db_));
  RETURN_IF_ERROR(fn(db_));
  return txn.Commit();
}

absl::Status Metadata::View(const std::function<absl::Status(Db&)>& fn) {
  absl::MutexLock l(&mu_);
  RETURN_IF_ERROR(db_.Exec("BEGIN DEFERRED"));
  absl::Status st = fn(db_);
  absl::Status end = db_.Exec(st.ok() ? "COMMIT" : "ROLLBACK");
  return st.ok() ? end : st;
}

}  // namespace berth::metadata
