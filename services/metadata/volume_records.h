// Rows of the volumes table: a volume's name, driver, labels, driver options and whether it
// was made anonymously for a container. Its data is on disk (services/volumes/paths.h); this
// layer only keeps the record. Every function runs inside the caller's transaction.
#ifndef BERTH_SERVICES_METADATA_VOLUME_RECORDS_H_
#define BERTH_SERVICES_METADATA_VOLUME_RECORDS_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/sqlite.h"
#include "services/metadata/labels.h"

namespace berth::metadata {

struct VolumeRow {
  std::string ns;
  std::string name;
  std::string driver;
  Labels labels;
  Labels options;
  bool anonymous = false;
  absl::Time created_at;
};

absl::StatusOr<absl::optional<VolumeRow>> GetVolume(::berth::sqlite::Db& db, const std::string& ns,
                                                    const std::string& name);
// ALREADY_EXISTS when the namespace has a volume of that name.
absl::Status InsertVolume(::berth::sqlite::Db& db, const VolumeRow& row);
// False when there was no such volume.
absl::StatusOr<bool> DeleteVolume(::berth::sqlite::Db& db, const std::string& ns,
                                  const std::string& name);
// In name order.
absl::Status ForEachVolume(::berth::sqlite::Db& db, const std::string& ns,
                           const std::function<absl::Status(VolumeRow)>& fn);

}  // namespace berth::metadata

#endif  // BERTH_SERVICES_METADATA_VOLUME_RECORDS_H_
