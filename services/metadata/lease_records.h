// Rows of the leases and lease_resources tables. Like content_records.h, every function runs
// inside the caller's transaction.
#ifndef BERTH_SERVICES_METADATA_LEASE_RECORDS_H_
#define BERTH_SERVICES_METADATA_LEASE_RECORDS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/sqlite.h"
#include "services/metadata/labels.h"

namespace berth::metadata {

// The SQLite wrapper moved to common/; metadata code keeps naming it unqualified.
using ::berth::sqlite::Db;
using ::berth::sqlite::Statement;
using ::berth::sqlite::Transaction;

struct LeaseRecord {
  std::string ns;
  std::string id;
  Labels labels;
  absl::Time created_at;
  absl::optional<absl::Time> expires_at;  // none: never
};

struct LeaseResource {
  std::string type;  // "content", "ingests", "snapshots/<snapshotter>"
  std::string id;    // digest, ingest ref, snapshot key

  friend bool operator==(const LeaseResource& a, const LeaseResource& b) {
    return a.type == b.type && a.id == b.id;
  }
};

// ALREADY_EXISTS when the namespace already has a lease with this id.
absl::Status InsertLease(Db& db, const LeaseRecord& lease);
absl::StatusOr<absl::optional<LeaseRecord>> GetLease(Db& db, const std::string& ns,
                                                     const std::string& id);
// Deletes the lease and, by cascade, its resources. NOT_FOUND if absent.
absl::Status DeleteLease(Db& db, const std::string& ns, const std::string& id);
absl::StatusOr<std::vector<LeaseRecord>> ListLeases(Db& db, const std::string& ns);
// Deletes every lease whose expiry is at or before `now`; returns how many.
absl::StatusOr<int> DeleteExpiredLeases(Db& db, absl::Time now);

// NOT_FOUND if the lease is absent; adding a resource twice is fine.
absl::Status AddLeaseResource(Db& db, const std::string& ns, const std::string& lease,
                              const LeaseResource& resource);
// NOT_FOUND if the lease is absent; removing a resource it does not hold is fine.
absl::Status DeleteLeaseResource(Db& db, const std::string& ns, const std::string& lease,
                                 const LeaseResource& resource);
absl::StatusOr<std::vector<LeaseResource>> ListLeaseResources(Db& db, const std::string& ns,
                                                              const std::string& lease);

// Resources held by leases that have not expired at `now`, with their namespace.
struct HeldResource {
  std::string ns;
  LeaseResource resource;
};
absl::StatusOr<std::vector<HeldResource>> LiveLeaseResources(Db& db, absl::Time now);

}  // namespace berth::metadata

#endif  // BERTH_SERVICES_METADATA_LEASE_RECORDS_H_
