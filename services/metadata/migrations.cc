#include "services/metadata/migrations.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace berth::metadata {

// Times are Unix nanoseconds (INTEGER); labels are a JSON object of strings (TEXT).
const std::vector<Migration>& Schema() {
  static const auto* schema = new std::vector<Migration>{
      {1, "namespaces, content labels, leases", R"sql(
CREATE TABLE namespaces (
  name       TEXT PRIMARY KEY,
  labels     TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- A blob's presence in a namespace. The bytes are shared by all namespaces on disk.
CREATE TABLE content (
  namespace  TEXT NOT NULL REFERENCES namespaces(name) ON DELETE RESTRICT,
  digest     TEXT NOT NULL,
  size       INTEGER NOT NULL,
  labels     TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, digest)
);
CREATE INDEX content_by_digest ON content(digest);

CREATE TABLE leases (
  namespace  TEXT NOT NULL REFERENCES namespaces(name) ON DELETE RESTRICT,
  id         TEXT NOT NULL,
  labels     TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  expires_at INTEGER,  -- NULL: never
  PRIMARY KEY (namespace, id)
);

CREATE TABLE lease_resources (
  namespace TEXT NOT NULL,
  lease     TEXT NOT NULL,
  type      TEXT NOT NULL,  -- "content", "ingests", "snapshots/<snapshotter>"
  id        TEXT NOT NULL,
  PRIMARY KEY (namespace, lease, type, id),
  FOREIGN KEY (namespace, lease) REFERENCES leases(namespace, id) ON DELETE CASCADE
);
)sql"},
      {2, "images", R"sql(
-- A name pointing at a manifest or index in the content store. The name is a normalised
-- reference ("docker.io/library/busybox:latest"), unique per namespace.
CREATE TABLE images (
  namespace          TEXT NOT NULL REFERENCES namespaces(name) ON DELETE RESTRICT,
  name               TEXT NOT NULL,
  target_media_type  TEXT NOT NULL,
  target_digest      TEXT NOT NULL,
  target_size        INTEGER NOT NULL,
  target_annotations TEXT NOT NULL DEFAULT '{}',
  labels             TEXT NOT NULL DEFAULT '{}',
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
);
CREATE INDEX images_by_target ON images(namespace, target_digest);
)sql"},
      {3, "containers", R"sql(
-- A container record, per namespace: the id is its key, the name a second unique handle.
-- `record` is the whole berth.services.containers.v1.Container message (base64 of its wire
-- form): the columns beside it exist for uniqueness and lookup.
CREATE TABLE containers (
  namespace  TEXT NOT NULL REFERENCES namespaces(name) ON DELETE RESTRICT,
  id         TEXT NOT NULL,
  name       TEXT NOT NULL,
  record     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, id),
  UNIQUE (namespace, name)
);
)sql"},
      {4, "volumes", R"sql(
-- A volume, per namespace (docs/volumes.md): its data lives at
-- <root>/volumes/<namespace>/<name>/_data. Options are the driver's (local: type, device, o).
CREATE TABLE volumes (
  namespace  TEXT NOT NULL REFERENCES namespaces(name) ON DELETE RESTRICT,
  name       TEXT NOT NULL,
  driver     TEXT NOT NULL,
  labels     TEXT NOT NULL DEFAULT '{}',
  options    TEXT NOT NULL DEFAULT '{}',
  anonymous  INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
);
)sql"},
  };
  return *schema;
}

absl::Status Migrate(Db& db, const std::vector<Migration>& migrations) {
  ASSIGN_OR_RETURN(int64_t current, db.QueryInt("PRAGMA user_version"));
  const int64_t latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "metadata database ", db.path(), " has schema version ", current,
        ", newer than this berthd knows (", latest, "); run a newer berthd or restore a backup"));
  }
  for (size_t i = 0; i < migrations.size(); ++i) {
    const Migration& m = migrations[i];
    if (m.version != static_cast<int64_t>(i) + 1) {
      return absl::InternalError(absl::StrCat("schema migration #", i + 1, " (", m.description,
                                              ") has version ", m.version));
    }
    if (m.version <= current) continue;
    auto context = absl::StrCat("migrating ", db.path(), " to schema version ", m.version, " (",
                                m.description, ")");
    absl::StatusOr<Transaction> txn = Transaction::Begin(db);
    if (!txn.ok()) return Annotate(txn.status(), context);
    absl::Status st = db.Exec(m.sql);
    // PRAGMA takes no bound parameters; the version is our own integer.
    if (st.ok()) st = db.Exec(absl::StrCat("PRAGMA user_version = ", m.version));
    if (st.ok()) st = txn->Commit();
    if (!st.ok()) return Annotate(st, context);
  }
  return absl::OkStatus();
}

}  // namespace berth::metadata
