#include "services/metadata/volume_records.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace berth::metadata {
namespace {

using ::berth::sqlite::Db;
using ::berth::sqlite::Statement;

constexpr char kColumns[] =
    "SELECT namespace, name, driver, labels, options, anonymous, created_at FROM volumes ";

absl::StatusOr<VolumeRow> ReadRow(const Statement& stmt) {
  VolumeRow r;
  r.ns = stmt.ColumnText(0);
  r.name = stmt.ColumnText(1);
  r.driver = stmt.ColumnText(2);
  ASSIGN_OR_RETURN(r.labels, DecodeLabels(stmt.ColumnText(3)));
  ASSIGN_OR_RETURN(r.options, DecodeLabels(stmt.ColumnText(4)));
  r.anonymous = stmt.ColumnInt(5) != 0;
  r.created_at = FromDbTime(stmt.ColumnInt(6));
  return r;
}

}  // namespace

absl::StatusOr<absl::optional<VolumeRow>> GetVolume(Db& db, const std::string& ns,
                                                    const std::string& name) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare(absl::StrCat(kColumns, "WHERE namespace = ?1 AND name = ?2")));
  stmt.Bind(1, ns).Bind(2, name);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::optional<VolumeRow>();
  ASSIGN_OR_RETURN(VolumeRow r, ReadRow(stmt));
  return absl::optional<VolumeRow>(std::move(r));
}

absl::Status InsertVolume(Db& db, const VolumeRow& r) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("INSERT INTO volumes (namespace, name, driver, labels, options, "
                              "anonymous, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  absl::Status st = stmt.Bind(1, r.ns)
                        .Bind(2, r.name)
                        .Bind(3, r.driver)
                        .Bind(4, EncodeLabels(r.labels))
                        .Bind(5, EncodeLabels(r.options))
                        .Bind(6, int64_t{r.anonymous ? 1 : 0})
                        .Bind(7, ToDbTime(r.created_at))
                        .Run();
  if (absl::IsAlreadyExists(st)) {
    return absl::AlreadyExistsError(
        absl::StrCat("volume \"", r.name, "\" already exists in namespace \"", r.ns, "\""));
  }
  return st;
}

absl::StatusOr<bool> DeleteVolume(Db& db, const std::string& ns, const std::string& name) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("DELETE FROM volumes WHERE namespace = ?1 AND name = ?2"));
  RETURN_IF_ERROR(stmt.Bind(1, ns).Bind(2, name).Run());
  return db.Changes() > 0;
}

absl::Status ForEachVolume(Db& db, const std::string& ns,
                           const std::function<absl::Status(VolumeRow)>& fn) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare(absl::StrCat(kColumns, "WHERE namespace = ?1 ORDER BY name")));
  stmt.Bind(1, ns);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::OkStatus();
    ASSIGN_OR_RETURN(VolumeRow r, ReadRow(stmt));
    RETURN_IF_ERROR(fn(std::move(r)));
  }
}

}  // namespace berth::metadata
