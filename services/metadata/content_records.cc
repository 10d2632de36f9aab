#include "services/metadata/content_records.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace berth::metadata {
namespace {

constexpr char kContentColumns[] =
    "namespace, digest, size, labels, created_at, updated_at FROM content";

absl::StatusOr<ContentRecord> ReadContentRow(const Statement& stmt) {
  ContentRecord r;
  r.ns = stmt.ColumnText(0);
  r.digest = stmt.ColumnText(1);
  r.size = stmt.ColumnInt(2);
  ASSIGN_OR_RETURN(r.labels, DecodeLabels(stmt.ColumnText(3)));
  r.created_at = FromDbTime(stmt.ColumnInt(4));
  r.updated_at = FromDbTime(stmt.ColumnInt(5));
  return r;
}

}  // namespace

absl::Status EnsureNamespace(Db& db, const std::string& ns, absl::Time now) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("INSERT OR IGNORE INTO namespaces (name, labels, created_at, "
                              "updated_at) VALUES (?1, '{}', ?2, ?2)"));
  return stmt.Bind(1, ns).Bind(2, ToDbTime(now)).Run();
}

absl::StatusOr<absl::optional<ContentRecord>> GetContent(Db& db, const std::string& ns,
                                                         const std::string& digest) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare(absl::StrCat("SELECT ", kContentColumns,
                                           " WHERE namespace = ?1 AND digest = ?2")));
  stmt.Bind(1, ns).Bind(2, digest);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::optional<ContentRecord>();
  ASSIGN_OR_RETURN(ContentRecord r, ReadContentRow(stmt));
  return absl::optional<ContentRecord>(std::move(r));
}

absl::Status InsertContent(Db& db, const ContentRecord& r) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("INSERT INTO content (namespace, digest, size, labels, created_at, "
                              "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  absl::Status st = stmt.Bind(1, r.ns)
                        .Bind(2, r.digest)
                        .Bind(3, r.size)
                        .Bind(4, EncodeLabels(r.labels))
                        .Bind(5, ToDbTime(r.created_at))
                        .Bind(6, ToDbTime(r.updated_at))
                        .Run();
  if (absl::IsAlreadyExists(st)) {
    return absl::AlreadyExistsError(
        absl::StrCat("content ", r.digest, " already exists in namespace \"", r.ns, "\""));
  }
  return st;
}

absl::Status UpdateContentLabels(Db& db, const std::string& ns, const std::string& digest,
                                 const Labels& labels, absl::Time now) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare("UPDATE content SET labels = ?3, updated_at = ?4 "
                                              "WHERE namespace = ?1 AND digest = ?2"));
  RETURN_IF_ERROR(
      stmt.Bind(1, ns).Bind(2, digest).Bind(3, EncodeLabels(labels)).Bind(4, ToDbTime(now)).Run());
  if (db.Changes() == 0) {
    return absl::NotFoundError(
        absl::StrCat("content ", digest, " not found in namespace \"", ns, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> DeleteContent(Db& db, const std::string& ns, const std::string& digest) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("DELETE FROM content WHERE namespace = ?1 AND digest = ?2"));
  RETURN_IF_ERROR(stmt.Bind(1, ns).Bind(2, digest).Run());
  return db.Changes() > 0;
}

absl::Status ForEachContent(Db& db, const std::string& ns,
                            const std::function<absl::Status(ContentRecord)>& fn) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      db.Prepare(absl::StrCat("SELECT ", kContentColumns, ns.empty() ? "" : " WHERE namespace = ?1",
                              " ORDER BY namespace, digest")));
  if (!ns.empty()) stmt.Bind(1, ns);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::OkStatus();
    ASSIGN_OR_RETURN(ContentRecord r, ReadContentRow(stmt));
    RETURN_IF_ERROR(fn(std::move(r)));
  }
}

absl::StatusOr<bool> ContentReferenced(Db& db, const std::string& digest) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare("SELECT 1 FROM content WHERE digest = ?1 LIMIT 1"));
  stmt.Bind(1, digest);
  return stmt.Step();
}

}  // namespace berth::metadata
