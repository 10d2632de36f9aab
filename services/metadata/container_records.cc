#include "services/metadata/container_records.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/metadata/labels.h"

namespace berth::metadata {
namespace {

using ::berth::sqlite::Db;
using ::berth::sqlite::Statement;

constexpr char kColumns[] =
    "SELECT namespace, id, name, record, created_at, updated_at FROM containers ";

absl::StatusOr<ContainerRow> ReadRow(const Statement& stmt) {
  ContainerRow r;
  r.ns = stmt.ColumnText(0);
  r.id = stmt.ColumnText(1);
  r.name = stmt.ColumnText(2);
  if (!absl::Base64Unescape(stmt.ColumnText(3), &r.record)) {
    return absl::DataLossError(absl::StrCat("container ", r.id, ": its record is not base64"));
  }
  r.created_at = FromDbTime(stmt.ColumnInt(4));
  r.updated_at = FromDbTime(stmt.ColumnInt(5));
  return r;
}

absl::StatusOr<absl::optional<ContainerRow>> GetOne(Db& db, const std::string& where,
                                                    const std::string& ns, const std::string& key) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare(absl::StrCat(kColumns, where)));
  stmt.Bind(1, ns).Bind(2, key);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::optional<ContainerRow>();
  ASSIGN_OR_RETURN(ContainerRow r, ReadRow(stmt));
  return absl::optional<ContainerRow>(std::move(r));
}

// SQLite says which UNIQUE constraint failed; turn that into which handle is taken.
absl::Status Taken(const absl::Status& st, const ContainerRow& r) {
  if (!absl::IsAlreadyExists(st)) return st;
  // "UNIQUE constraint failed: containers.namespace, containers.id" (or containers.name).
  const bool name = st.message().find("containers.id") == absl::string_view::npos;
  return absl::AlreadyExistsError(
      name ? absl::StrCat("the name \"", r.name, "\" is already in use in namespace \"", r.ns, "\"")
           : absl::StrCat("container \"", r.id, "\" already exists in namespace \"", r.ns, "\""));
}

}  // namespace

absl::StatusOr<absl::optional<ContainerRow>> GetContainer(Db& db, const std::string& ns,
                                                          const std::string& id) {
  return GetOne(db, "WHERE namespace = ?1 AND id = ?2", ns, id);
}

absl::StatusOr<absl::optional<ContainerRow>> GetContainerByName(Db& db, const std::string& ns,
                                                                const std::string& name) {
  return GetOne(db, "WHERE namespace = ?1 AND name = ?2", ns, name);
}

absl::Status InsertContainer(Db& db, const ContainerRow& r) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("INSERT INTO containers (namespace, id, name, record, created_at, "
                              "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  return Taken(stmt.Bind(1, r.ns)
                   .Bind(2, r.id)
                   .Bind(3, r.name)
                   .Bind(4, absl::Base64Escape(r.record))
                   .Bind(5, ToDbTime(r.created_at))
                   .Bind(6, ToDbTime(r.updated_at))
                   .Run(),
               r);
}

absl::Status UpdateContainer(Db& db, const ContainerRow& r) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("UPDATE containers SET name = ?3, record = ?4, updated_at = ?5 "
                              "WHERE namespace = ?1 AND id = ?2"));
  RETURN_IF_ERROR(Taken(stmt.Bind(1, r.ns)
                            .Bind(2, r.id)
                            .Bind(3, r.name)
                            .Bind(4, absl::Base64Escape(r.record))
                            .Bind(5, ToDbTime(r.updated_at))
                            .Run(),
                        r));
  if (db.Changes() == 0) {
    return absl::NotFoundError(
        absl::StrCat("container \"", r.id, "\" not found in namespace \"", r.ns, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> DeleteContainer(Db& db, const std::string& ns, const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("DELETE FROM containers WHERE namespace = ?1 AND id = ?2"));
  RETURN_IF_ERROR(stmt.Bind(1, ns).Bind(2, id).Run());
  return db.Changes() > 0;
}

absl::Status ForEachContainer(Db& db, const std::string& ns,
                              const std::function<absl::Status(ContainerRow)>& fn) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare(absl::StrCat(kColumns, "WHERE namespace = ?1 ORDER BY created_at")));
  stmt.Bind(1, ns);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::OkStatus();
    ASSIGN_OR_RETURN(ContainerRow r, ReadRow(stmt));
    RETURN_IF_ERROR(fn(std::move(r)));
  }
}

}  // namespace berth::metadata
