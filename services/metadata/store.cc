#include "services/metadata/store.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace berth::metadata {

absl::StatusOr<std::shared_ptr<MetadataStore>> MetadataStore::Open(const std::string& root) {
  auto store = std::make_shared<MetadataStore>();
  ASSIGN_OR_RETURN(store->db, Metadata::Open(absl::StrCat(root, "/", kMetadataFile)));
  store->gc = std::make_unique<Collector>(store->db.get());
  return store;
}

}  // namespace berth::metadata
