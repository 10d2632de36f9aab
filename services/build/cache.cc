#include "services/build/cache.h"

#include "common/status_macros.h"

namespace berth::build {

absl::StatusOr<std::unique_ptr<BuildCache>> BuildCache::Open(const std::string& path) {
  ASSIGN_OR_RETURN(sqlite::Db db, sqlite::Db::Open(path));
  RETURN_IF_ERROR(db.Exec("PRAGMA busy_timeout=10000; PRAGMA journal_mode=WAL;"));
  RETURN_IF_ERROR(
      db.Exec("CREATE TABLE IF NOT EXISTS cache ("
              " namespace TEXT NOT NULL, key TEXT NOT NULL, created_ns INTEGER NOT NULL,"
              " layer_digest TEXT NOT NULL, layer_media_type TEXT NOT NULL,"
              " layer_size INTEGER NOT NULL, diff_id TEXT NOT NULL, used_ns INTEGER NOT NULL,"
              " PRIMARY KEY (namespace, key))"));
  return std::unique_ptr<BuildCache>(new BuildCache(std::move(db)));
}

absl::StatusOr<absl::optional<CacheEntry>> BuildCache::Get(const std::string& ns,
                                                           const std::string& key) {
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(sqlite::Statement q,
                   db_.Prepare("SELECT created_ns, layer_digest, layer_media_type, layer_size, "
                               "diff_id FROM cache WHERE namespace = ?1 AND key = ?2"));
  q.Bind(1, ns).Bind(2, key);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return absl::optional<CacheEntry>();
  CacheEntry e;
  e.created = absl::FromUnixNanos(q.ColumnInt(0));
  e.layer_digest = q.ColumnText(1);
  e.layer_media_type = q.ColumnText(2);
  e.layer_size = q.ColumnInt(3);
  e.diff_id = q.ColumnText(4);
  ASSIGN_OR_RETURN(sqlite::Statement u,
                   db_.Prepare("UPDATE cache SET used_ns = ?3 WHERE namespace = ?1 AND key = ?2"));
  u.Bind(1, ns).Bind(2, key).Bind(3, absl::ToUnixNanos(absl::Now()));
  RETURN_IF_ERROR(u.Run());
  return absl::optional<CacheEntry>(std::move(e));
}

absl::Status BuildCache::Put(const std::string& ns, const std::string& key, const CacheEntry& e) {
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(sqlite::Statement q,
                   db_.Prepare("INSERT OR REPLACE INTO cache (namespace, key, created_ns, "
                               "layer_digest, layer_media_type, layer_size, diff_id, used_ns) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  q.Bind(1, ns)
      .Bind(2, key)
      .Bind(3, absl::ToUnixNanos(e.created))
      .Bind(4, e.layer_digest)
      .Bind(5, e.layer_media_type)
      .Bind(6, e.layer_size)
      .Bind(7, e.diff_id)
      .Bind(8, absl::ToUnixNanos(absl::Now()));
  return q.Run();
}

absl::StatusOr<int64_t> BuildCache::Prune(const std::string& ns) {
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(sqlite::Statement q, db_.Prepare("DELETE FROM cache WHERE namespace = ?1"));
  q.Bind(1, ns);
  RETURN_IF_ERROR(q.Run());
  return static_cast<int64_t>(db_.Changes());
}

}  // namespace berth::build
