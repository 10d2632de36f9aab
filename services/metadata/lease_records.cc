#include "services/metadata/lease_records.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace berth::metadata {
namespace {

std::string LeaseName(const std::string& ns, const std::string& id) {
  return absl::StrCat("lease \"", id, "\" in namespace \"", ns, "\"");
}

absl::StatusOr<LeaseRecord> ReadLeaseRow(const Statement& stmt) {
  LeaseRecord r;
  r.ns = stmt.ColumnText(0);
  r.id = stmt.ColumnText(1);
  ASSIGN_OR_RETURN(r.labels, DecodeLabels(stmt.ColumnText(2)));
  r.created_at = FromDbTime(stmt.ColumnInt(3));
  if (!stmt.ColumnIsNull(4)) r.expires_at = FromDbTime(stmt.ColumnInt(4));
  return r;
}

constexpr char kLeaseColumns[] = "namespace, id, labels, created_at, expires_at FROM leases";

absl::Status RequireLease(Db& db, const std::string& ns, const std::string& id) {
  ASSIGN_OR_RETURN(absl::optional<LeaseRecord> lease, GetLease(db, ns, id));
  if (!lease.has_value()) return absl::NotFoundError(absl::StrCat(LeaseName(ns, id), " not found"));
  return absl::OkStatus();
}

}  // namespace

absl::Status InsertLease(Db& db, const LeaseRecord& r) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("INSERT INTO leases (namespace, id, labels, created_at, expires_at) "
                              "VALUES (?1, ?2, ?3, ?4, ?5)"));
  absl::optional<int64_t> expires;
  if (r.expires_at.has_value()) expires = ToDbTime(*r.expires_at);
  absl::Status st = stmt.Bind(1, r.ns)
                        .Bind(2, r.id)
                        .Bind(3, EncodeLabels(r.labels))
                        .Bind(4, ToDbTime(r.created_at))
                        .Bind(5, expires)
                        .Run();
  if (absl::IsAlreadyExists(st)) {
    return absl::AlreadyExistsError(absl::StrCat(LeaseName(r.ns, r.id), " already exists"));
  }
  return st;
}

absl::StatusOr<absl::optional<LeaseRecord>> GetLease(Db& db, const std::string& ns,
                                                     const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare(absl::StrCat("SELECT ", kLeaseColumns,
                                                           " WHERE namespace = ?1 AND id = ?2")));
  stmt.Bind(1, ns).Bind(2, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::optional<LeaseRecord>();
  ASSIGN_OR_RETURN(LeaseRecord r, ReadLeaseRow(stmt));
  return absl::optional<LeaseRecord>(std::move(r));
}

absl::Status DeleteLease(Db& db, const std::string& ns, const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("DELETE FROM leases WHERE namespace = ?1 AND id = ?2"));
  RETURN_IF_ERROR(stmt.Bind(1, ns).Bind(2, id).Run());
  if (db.Changes() == 0) return absl::NotFoundError(absl::StrCat(LeaseName(ns, id), " not found"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LeaseRecord>> ListLeases(Db& db, const std::string& ns) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare(absl::StrCat("SELECT ", kLeaseColumns,
                                                           " WHERE namespace = ?1 ORDER BY id")));
  stmt.Bind(1, ns);
  std::vector<LeaseRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    ASSIGN_OR_RETURN(LeaseRecord r, ReadLeaseRow(stmt));
    out.push_back(std::move(r));
  }
}

absl::StatusOr<int> DeleteExpiredLeases(Db& db, absl::Time now) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare("DELETE FROM leases WHERE expires_at IS NOT NULL "
                                              "AND expires_at <= ?1"));
  RETURN_IF_ERROR(stmt.Bind(1, ToDbTime(now)).Run());
  return db.Changes();
}

absl::Status AddLeaseResource(Db& db, const std::string& ns, const std::string& lease,
                              const LeaseResource& res) {
  RETURN_IF_ERROR(RequireLease(db, ns, lease));
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare("INSERT OR IGNORE INTO lease_resources (namespace, "
                                              "lease, type, id) VALUES (?1, ?2, ?3, ?4)"));
  return stmt.Bind(1, ns).Bind(2, lease).Bind(3, res.type).Bind(4, res.id).Run();
}

absl::Status DeleteLeaseResource(Db& db, const std::string& ns, const std::string& lease,
                                 const LeaseResource& res) {
  RETURN_IF_ERROR(RequireLease(db, ns, lease));
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("DELETE FROM lease_resources WHERE namespace = ?1 AND lease = ?2 "
                              "AND type = ?3 AND id = ?4"));
  return stmt.Bind(1, ns).Bind(2, lease).Bind(3, res.type).Bind(4, res.id).Run();
}

absl::StatusOr<std::vector<LeaseResource>> ListLeaseResources(Db& db, const std::string& ns,
                                                              const std::string& lease) {
  RETURN_IF_ERROR(RequireLease(db, ns, lease));
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("SELECT type, id FROM lease_resources WHERE namespace = ?1 AND "
                              "lease = ?2 ORDER BY type, id"));
  stmt.Bind(1, ns).Bind(2, lease);
  std::vector<LeaseResource> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back({.type = stmt.ColumnText(0), .id = stmt.ColumnText(1)});
  }
}

absl::StatusOr<std::vector<HeldResource>> LiveLeaseResources(Db& db, absl::Time now) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      db.Prepare("SELECT r.namespace, r.type, r.id FROM lease_resources r JOIN leases l "
                 "ON l.namespace = r.namespace AND l.id = r.lease "
                 "WHERE l.expires_at IS NULL OR l.expires_at > ?1"));
  stmt.Bind(1, ToDbTime(now));
  std::vector<HeldResource> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back({.ns = stmt.ColumnText(0),
                   .resource = {.type = stmt.ColumnText(1), .id = stmt.ColumnText(2)}});
  }
}

}  // namespace berth::metadata
