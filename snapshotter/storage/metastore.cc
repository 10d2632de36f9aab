#include "snapshotter/storage/metastore.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace berth::snapshotter {
namespace {

// Version 1. Times are Unix nanoseconds; size/inodes are -1 until commit.
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS snapshots (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  key        TEXT NOT NULL UNIQUE,
  parent_id  INTEGER REFERENCES snapshots(id) ON DELETE RESTRICT,
  kind       INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  size       INTEGER NOT NULL DEFAULT -1,
  inodes     INTEGER NOT NULL DEFAULT -1
);
CREATE INDEX IF NOT EXISTS snapshots_by_parent ON snapshots(parent_id);
CREATE TABLE IF NOT EXISTS labels (
  id    INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
  key   TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (id, key)
);
)sql";

int64_t NowNanos() { return absl::ToUnixNanos(absl::Now()); }

absl::Status NotFound(const std::string& key) {
  return absl::NotFoundError(absl::StrCat("snapshot \"", key, "\" not found"));
}

}  // namespace

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return "view";
    case Kind::kActive:
      return "active";
    case Kind::kCommitted:
      return "committed";
    default:
      return "unknown";
  }
}

absl::StatusOr<std::unique_ptr<MetaStore>> MetaStore::Open(const std::string& path) {
  ASSIGN_OR_RETURN(sqlite::Db db, sqlite::Db::Open(path));
  RETURN_IF_ERROR(
      db.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
              "PRAGMA busy_timeout=10000;"));
  ASSIGN_OR_RETURN(int64_t version, db.QueryInt("PRAGMA user_version"));
  if (version > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": schema version ", version, " is newer than this berth (1)"));
  }
  RETURN_IF_ERROR(db.Exec(kSchema));
  RETURN_IF_ERROR(db.Exec("PRAGMA user_version=1"));
  return std::unique_ptr<MetaStore>(new MetaStore(std::move(db)));
}

absl::StatusOr<SnapshotRef> MetaStore::GetLocked(const std::string& key) {
  ASSIGN_OR_RETURN(sqlite::Statement st,
                   db_.Prepare("SELECT id, kind, parent_id FROM snapshots WHERE key = ?"));
  st.Bind(1, key);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound(key);
  SnapshotRef ref;
  ref.id = st.ColumnInt(0);
  ref.kind = static_cast<Kind>(st.ColumnInt(1));
  bool has_parent = !st.ColumnIsNull(2);
  int64_t parent = st.ColumnInt(2);
  ASSIGN_OR_RETURN(sqlite::Statement up,
                   db_.Prepare("SELECT parent_id FROM snapshots WHERE id = ?"));
  while (has_parent) {
    ref.parent_ids.push_back(parent);
    up.Reset();
    up.Bind(1, parent);
    ASSIGN_OR_RETURN(bool found, up.Step());
    has_parent = found && !up.ColumnIsNull(0);
    if (has_parent) parent = up.ColumnInt(0);
  }
  return ref;
}

absl::StatusOr<SnapshotRef> MetaStore::Get(const std::string& key) {
  absl::MutexLock l(&mu_);
  return GetLocked(key);
}

absl::Status MetaStore::SetLabelsLocked(int64_t id, const Labels& labels) {
  ASSIGN_OR_RETURN(sqlite::Statement del, db_.Prepare("DELETE FROM labels WHERE id = ?"));
  RETURN_IF_ERROR(del.Bind(1, id).Run());
  ASSIGN_OR_RETURN(sqlite::Statement ins,
                   db_.Prepare("INSERT INTO labels (id, key, value) VALUES (?, ?, ?)"));
  for (const auto& [k, v] : labels) {
    ins.Reset();
    RETURN_IF_ERROR(ins.Bind(1, id).Bind(2, k).Bind(3, v).Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<SnapshotRef> MetaStore::Create(
    Kind kind, const std::string& key, const std::string& parent, const Labels& labels,
    const std::function<absl::Status(const SnapshotRef&)>& make) {
  if (key.empty()) return absl::InvalidArgumentError("snapshot key must not be empty");
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(sqlite::Transaction tx, sqlite::Transaction::Begin(db_));
  SnapshotRef ref;
  ref.kind = kind;
  absl::optional<int64_t> parent_id;
  if (!parent.empty()) {
    absl::StatusOr<SnapshotRef> p = GetLocked(parent);
    if (!p.ok()) {
      return absl::Status(p.status().code(),
                          absl::StrCat("parent of \"", key, "\": ", p.status().message()));
    }
    if (p->kind != Kind::kCommitted) {
      return absl::FailedPreconditionError(absl::StrCat(
          "parent \"", parent, "\" of \"", key, "\" is ", KindName(p->kind), ", not committed"));
    }
    parent_id = p->id;
    ref.parent_ids.push_back(p->id);
    ref.parent_ids.insert(ref.parent_ids.end(), p->parent_ids.begin(), p->parent_ids.end());
  }
  ASSIGN_OR_RETURN(sqlite::Statement ins,
                   db_.Prepare("INSERT INTO snapshots (key, parent_id, kind, created_at, "
                               "updated_at) VALUES (?, ?, ?, ?, ?)"));
  const int64_t now = NowNanos();
  absl::Status st = ins.Bind(1, key)
                        .Bind(2, parent_id)
                        .Bind(3, static_cast<int64_t>(kind))
                        .Bind(4, now)
                        .Bind(5, now)
                        .Run();
  if (absl::IsAlreadyExists(st)) {
    return absl::AlreadyExistsError(absl::StrCat("snapshot \"", key, "\" already exists"));
  }
  RETURN_IF_ERROR(st);
  ASSIGN_OR_RETURN(ref.id, db_.QueryInt("SELECT last_insert_rowid()"));
  RETURN_IF_ERROR(SetLabelsLocked(ref.id, labels));
  RETURN_IF_ERROR(make(ref));
  RETURN_IF_ERROR(tx.Commit());
  return ref;
}

absl::StatusOr<Info> MetaStore::GetInfoLocked(const std::string& key) {
  ASSIGN_OR_RETURN(sqlite::Statement st,
                   db_.Prepare("SELECT s.id, s.kind, s.created_at, s.updated_at, p.key FROM "
                               "snapshots s LEFT JOIN snapshots p ON s.parent_id = p.id "
                               "WHERE s.key = ?"));
  st.Bind(1, key);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound(key);
  Info info;
  info.name = key;
  int64_t id = st.ColumnInt(0);
  info.kind = static_cast<Kind>(st.ColumnInt(1));
  info.created = absl::FromUnixNanos(st.ColumnInt(2));
  info.updated = absl::FromUnixNanos(st.ColumnInt(3));
  if (!st.ColumnIsNull(4)) info.parent = st.ColumnText(4);
  ASSIGN_OR_RETURN(sqlite::Statement ls, db_.Prepare("SELECT key, value FROM labels WHERE id = ?"));
  ls.Bind(1, id);
  while (true) {
    ASSIGN_OR_RETURN(bool more, ls.Step());
    if (!more) break;
    info.labels[ls.ColumnText(0)] = ls.ColumnText(1);
  }
  return info;
}

absl::StatusOr<Info> MetaStore::GetInfo(const std::string& key) {
  absl::MutexLock l(&mu_);
  return GetInfoLocked(key);
}

absl::StatusOr<Info> MetaStore::UpdateInfo(const Info& update,
                                           const std::vector<std::string>& paths) {
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(sqlite::Transaction tx, sqlite::Transaction::Begin(db_));
  ASSIGN_OR_RETURN(Info info, GetInfoLocked(update.name));
  if (paths.empty()) {
    info.labels = update.labels;
  } else {
    for (const std::string& p : paths) {
      if (p == "labels") {
        info.labels = update.labels;
      } else if (absl::StartsWith(p, "labels.")) {
        std::string k = p.substr(7);
        auto it = update.labels.find(k);
        if (it == update.labels.end()) {
          info.labels.erase(k);
        } else {
          info.labels[k] = it->second;
        }
      } else {
        return absl::InvalidArgumentError(absl::StrCat("update of snapshot \"", update.name,
                                                       "\": cannot update field \"", p,
                                                       "\" (only labels and labels.<key>)"));
      }
    }
  }
  ASSIGN_OR_RETURN(SnapshotRef ref, GetLocked(update.name));
  RETURN_IF_ERROR(SetLabelsLocked(ref.id, info.labels));
  info.updated = absl::Now();
  ASSIGN_OR_RETURN(sqlite::Statement up,
                   db_.Prepare("UPDATE snapshots SET updated_at = ? WHERE id = ?"));
  RETURN_IF_ERROR(up.Bind(1, absl::ToUnixNanos(info.updated)).Bind(2, ref.id).Run());
  RETURN_IF_ERROR(tx.Commit());
  return info;
}

absl::StatusOr<int64_t> MetaStore::Commit(const std::string& key, const std::string& name,
                                          const Labels& labels, const Usage& usage) {
  if (name.empty()) return absl::InvalidArgumentError("commit name must not be empty");
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(sqlite::Transaction tx, sqlite::Transaction::Begin(db_));
  ASSIGN_OR_RETURN(SnapshotRef ref, GetLocked(key));
  if (ref.kind != Kind::kActive) {
    return absl::FailedPreconditionError(
        absl::StrCat("commit of \"", key, "\": it is ", KindName(ref.kind), ", not active"));
  }
  ASSIGN_OR_RETURN(sqlite::Statement up,
                   db_.Prepare("UPDATE snapshots SET key = ?, kind = ?, updated_at = ?, size = ?, "
                               "inodes = ? WHERE id = ?"));
  absl::Status st = up.Bind(1, name)
                        .Bind(2, static_cast<int64_t>(Kind::kCommitted))
                        .Bind(3, NowNanos())
                        .Bind(4, usage.size)
                        .Bind(5, usage.inodes)
                        .Bind(6, ref.id)
                        .Run();
  if (absl::IsAlreadyExists(st)) {
    return absl::AlreadyExistsError(absl::StrCat("snapshot \"", name, "\" already exists"));
  }
  RETURN_IF_ERROR(st);
  RETURN_IF_ERROR(SetLabelsLocked(ref.id, labels));
  RETURN_IF_ERROR(tx.Commit());
  return ref.id;
}

absl::StatusOr<Usage> MetaStore::CommittedUsage(const std::string& key) {
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(sqlite::Statement st,
                   db_.Prepare("SELECT size, inodes FROM snapshots WHERE key = ?"));
  st.Bind(1, key);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound(key);
  return Usage{st.ColumnInt(0), st.ColumnInt(1)};
}

absl::StatusOr<int64_t> MetaStore::Remove(const std::string& key,
                                          const std::function<absl::Status(int64_t)>& done) {
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(sqlite::Transaction tx, sqlite::Transaction::Begin(db_));
  ASSIGN_OR_RETURN(SnapshotRef ref, GetLocked(key));
  ASSIGN_OR_RETURN(sqlite::Statement kids,
                   db_.Prepare("SELECT key FROM snapshots WHERE parent_id = ? LIMIT 1"));
  kids.Bind(1, ref.id);
  ASSIGN_OR_RETURN(bool has_child, kids.Step());
  if (has_child) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot remove snapshot \"", key, "\": it is the parent of \"", kids.ColumnText(0), "\""));
  }
  ASSIGN_OR_RETURN(sqlite::Statement del, db_.Prepare("DELETE FROM snapshots WHERE id = ?"));
  RETURN_IF_ERROR(del.Bind(1, ref.id).Run());
  RETURN_IF_ERROR(done(ref.id));
  RETURN_IF_ERROR(tx.Commit());
  return ref.id;
}

absl::Status MetaStore::Walk(const std::function<absl::Status(const Info&)>& fn) {
  std::vector<std::string> keys;
  {
    absl::MutexLock l(&mu_);
    ASSIGN_OR_RETURN(sqlite::Statement st, db_.Prepare("SELECT key FROM snapshots ORDER BY id"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      keys.push_back(st.ColumnText(0));
    }
  }
  for (const std::string& k : keys) {
    absl::StatusOr<Info> info = GetInfo(k);
    if (absl::IsNotFound(info.status())) continue;  // removed meanwhile
    RETURN_IF_ERROR(info.status());
    RETURN_IF_ERROR(fn(*info));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::set<int64_t>> MetaStore::Ids() {
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(sqlite::Statement st, db_.Prepare("SELECT id FROM snapshots"));
  std::set<int64_t> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ids.insert(st.ColumnInt(0));
  }
  return ids;
}

}  // namespace berth::snapshotter
