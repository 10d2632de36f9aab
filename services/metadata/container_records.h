// Rows of the containers table. The record itself is opaque here (the serialized API
// message); this layer keeps ids and names unique per namespace. Every function runs inside
// the caller's transaction.
#ifndef BERTH_SERVICES_METADATA_CONTAINER_RECORDS_H_
#define BERTH_SERVICES_METADATA_CONTAINER_RECORDS_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/sqlite.h"

namespace berth::metadata {

struct ContainerRow {
  std::string ns;
  std::string id;
  std::string name;
  std::string record;  // serialized bytes
  absl::Time created_at;
  absl::Time updated_at;
};

absl::StatusOr<absl::optional<ContainerRow>> GetContainer(::berth::sqlite::Db& db,
                                                          const std::string& ns,
                                                          const std::string& id);
absl::StatusOr<absl::optional<ContainerRow>> GetContainerByName(::berth::sqlite::Db& db,
                                                                const std::string& ns,
                                                                const std::string& name);
// ALREADY_EXISTS naming the id or the name that is taken.
absl::Status InsertContainer(::berth::sqlite::Db& db, const ContainerRow& row);
// Replaces name, record and updated_at. NOT_FOUND if absent; ALREADY_EXISTS for a taken name.
absl::Status UpdateContainer(::berth::sqlite::Db& db, const ContainerRow& row);
absl::StatusOr<bool> DeleteContainer(::berth::sqlite::Db& db, const std::string& ns,
                                     const std::string& id);
absl::Status ForEachContainer(::berth::sqlite::Db& db, const std::string& ns,
                              const std::function<absl::Status(ContainerRow)>& fn);

}  // namespace berth::metadata

#endif  // BERTH_SERVICES_METADATA_CONTAINER_RECORDS_H_
