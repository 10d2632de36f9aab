// Rows of the images table: a normalised name per namespace pointing at a manifest or index.
// Like content_records.h, every function runs inside the caller's transaction.
#ifndef BERTH_SERVICES_METADATA_IMAGE_RECORDS_H_
#define BERTH_SERVICES_METADATA_IMAGE_RECORDS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/sqlite.h"
#include "services/metadata/gc.h"
#include "services/metadata/labels.h"

namespace berth::metadata {

// The SQLite wrapper moved to common/; metadata code keeps naming it unqualified.
using ::berth::sqlite::Db;
using ::berth::sqlite::Statement;
using ::berth::sqlite::Transaction;

struct ImageTarget {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
  Labels annotations;
};

struct ImageRecord {
  std::string ns;
  std::string name;  // normalised reference
  ImageTarget target;
  Labels labels;
  absl::Time created_at;
  absl::Time updated_at;
};

absl::StatusOr<absl::optional<ImageRecord>> GetImage(Db& db, const std::string& ns,
                                                     const std::string& name);
// ALREADY_EXISTS when the namespace already has an image of this name.
absl::Status InsertImage(Db& db, const ImageRecord& record);
// Replaces target, labels and updated_at of an existing image. NOT_FOUND if absent.
absl::Status UpdateImage(Db& db, const ImageRecord& record);
// Inserts, or re-points an existing name (keeping its created_at).
absl::Status PutImage(Db& db, const ImageRecord& record);
// False when there was no such image.
absl::StatusOr<bool> DeleteImage(Db& db, const std::string& ns, const std::string& name);
// Every image of `ns`, in name order.
absl::Status ForEachImage(Db& db, const std::string& ns,
                          const std::function<absl::Status(ImageRecord)>& fn);

// GC roots: every image's target, in every namespace. Register with Collector::AddRoots.
absl::Status ImageRoots(Db& db, absl::Time now, std::vector<GcNode>* roots);

}  // namespace berth::metadata

#endif  // BERTH_SERVICES_METADATA_IMAGE_RECORDS_H_
