#include "services/metadata/image_records.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace berth::metadata {
namespace {

constexpr char kImageColumns[] =
    "namespace, name, target_media_type, target_digest, target_size, target_annotations, "
    "labels, created_at, updated_at FROM images";

absl::StatusOr<ImageRecord> ReadImageRow(const Statement& stmt) {
  ImageRecord r;
  r.ns = stmt.ColumnText(0);
  r.name = stmt.ColumnText(1);
  r.target.media_type = stmt.ColumnText(2);
  r.target.digest = stmt.ColumnText(3);
  r.target.size = stmt.ColumnInt(4);
  ASSIGN_OR_RETURN(r.target.annotations, DecodeLabels(stmt.ColumnText(5)));
  ASSIGN_OR_RETURN(r.labels, DecodeLabels(stmt.ColumnText(6)));
  r.created_at = FromDbTime(stmt.ColumnInt(7));
  r.updated_at = FromDbTime(stmt.ColumnInt(8));
  return r;
}

std::string ImageNotFound(const std::string& ns, const std::string& name) {
  return absl::StrCat("image \"", name, "\" not found in namespace \"", ns, "\"");
}

}  // namespace

absl::StatusOr<absl::optional<ImageRecord>> GetImage(Db& db, const std::string& ns,
                                                     const std::string& name) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare(absl::StrCat("SELECT ", kImageColumns,
                                                           " WHERE namespace = ?1 AND name = ?2")));
  stmt.Bind(1, ns).Bind(2, name);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::optional<ImageRecord>();
  ASSIGN_OR_RETURN(ImageRecord r, ReadImageRow(stmt));
  return absl::optional<ImageRecord>(std::move(r));
}

absl::Status InsertImage(Db& db, const ImageRecord& r) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      db.Prepare("INSERT INTO images (namespace, name, target_media_type, "
                 "target_digest, target_size, target_annotations, labels, "
                 "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
  absl::Status st = stmt.Bind(1, r.ns)
                        .Bind(2, r.name)
                        .Bind(3, r.target.media_type)
                        .Bind(4, r.target.digest)
                        .Bind(5, r.target.size)
                        .Bind(6, EncodeLabels(r.target.annotations))
                        .Bind(7, EncodeLabels(r.labels))
                        .Bind(8, ToDbTime(r.created_at))
                        .Bind(9, ToDbTime(r.updated_at))
                        .Run();
  if (absl::IsAlreadyExists(st)) {
    return absl::AlreadyExistsError(
        absl::StrCat("image \"", r.name, "\" already exists in namespace \"", r.ns, "\""));
  }
  return st;
}

absl::Status UpdateImage(Db& db, const ImageRecord& r) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("UPDATE images SET target_media_type = ?3, target_digest = ?4, "
                              "target_size = ?5, target_annotations = ?6, labels = ?7, "
                              "updated_at = ?8 WHERE namespace = ?1 AND name = ?2"));
  RETURN_IF_ERROR(stmt.Bind(1, r.ns)
                      .Bind(2, r.name)
                      .Bind(3, r.target.media_type)
                      .Bind(4, r.target.digest)
                      .Bind(5, r.target.size)
                      .Bind(6, EncodeLabels(r.target.annotations))
                      .Bind(7, EncodeLabels(r.labels))
                      .Bind(8, ToDbTime(r.updated_at))
                      .Run());
  if (db.Changes() == 0) return absl::NotFoundError(ImageNotFound(r.ns, r.name));
  return absl::OkStatus();
}

absl::Status PutImage(Db& db, const ImageRecord& r) {
  ASSIGN_OR_RETURN(absl::optional<ImageRecord> existing, GetImage(db, r.ns, r.name));
  if (existing.has_value()) return UpdateImage(db, r);
  return InsertImage(db, r);
}

absl::StatusOr<bool> DeleteImage(Db& db, const std::string& ns, const std::string& name) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("DELETE FROM images WHERE namespace = ?1 AND name = ?2"));
  RETURN_IF_ERROR(stmt.Bind(1, ns).Bind(2, name).Run());
  return db.Changes() > 0;
}

absl::Status ForEachImage(Db& db, const std::string& ns,
                          const std::function<absl::Status(ImageRecord)>& fn) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare(absl::StrCat("SELECT ", kImageColumns,
                                                           " WHERE namespace = ?1 ORDER BY name")));
  stmt.Bind(1, ns);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::OkStatus();
    ASSIGN_OR_RETURN(ImageRecord r, ReadImageRow(stmt));
    RETURN_IF_ERROR(fn(std::move(r)));
  }
}

absl::Status ImageRoots(Db& db, absl::Time, std::vector<GcNode>* roots) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("SELECT DISTINCT namespace, target_digest FROM images"));
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::OkStatus();
    roots->push_back({.ns = stmt.ColumnText(0), .type = "content", .id = stmt.ColumnText(1)});
  }
}

}  // namespace berth::metadata
