// The metadata of one root as the services in one process share it: the database
// (<root>/metadata.db) and the collector over it.
#ifndef BERTH_SERVICES_METADATA_STORE_H_
#define BERTH_SERVICES_METADATA_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/metadata/gc.h"
#include "services/metadata/metadata.h"

namespace berth::metadata {

struct MetadataStore {
  static absl::StatusOr<std::shared_ptr<MetadataStore>> Open(const std::string& root);

  std::unique_ptr<Metadata> db;
  std::unique_ptr<Collector> gc;  // points into db: declared after it, destroyed before it
};

}  // namespace berth::metadata

#endif  // BERTH_SERVICES_METADATA_STORE_H_
