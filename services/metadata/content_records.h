// Rows of the namespaces and content tables. Functions take a Db inside the caller's
// transaction (Metadata::Update or View), so several of them compose atomically.
#ifndef BERTH_SERVICES_METADATA_CONTENT_RECORDS_H_
#define BERTH_SERVICES_METADATA_CONTENT_RECORDS_H_

#include <cstdint>
#include <functional>
#include <string>

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

// Namespaces come into being on first use, as in containerd.
absl::Status EnsureNamespace(Db& db, const std::string& ns, absl::Time now);

struct ContentRecord {
  std::string ns;
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
  Labels labels;
  absl::Time created_at;
  absl::Time updated_at;
};

absl::StatusOr<absl::optional<ContentRecord>> GetContent(Db& db, const std::string& ns,
                                                         const std::string& digest);
// ALREADY_EXISTS when the namespace already has this digest.
absl::Status InsertContent(Db& db, const ContentRecord& record);
absl::Status UpdateContentLabels(Db& db, const std::string& ns, const std::string& digest,
                                 const Labels& labels, absl::Time now);
// False when there was no such record.
absl::StatusOr<bool> DeleteContent(Db& db, const std::string& ns, const std::string& digest);
// Every record of `ns`, or of all namespaces when `ns` is empty, in (namespace, digest) order.
absl::Status ForEachContent(Db& db, const std::string& ns,
                            const std::function<absl::Status(ContentRecord)>& fn);
// True when any namespace holds `digest`.
absl::StatusOr<bool> ContentReferenced(Db& db, const std::string& digest);

}  // namespace berth::metadata

#endif  // BERTH_SERVICES_METADATA_CONTENT_RECORDS_H_
