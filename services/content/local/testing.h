// Test helpers: a local content store on a fresh directory with its own metadata database
// and collector, and one-call blob writes.
#ifndef BERTH_SERVICES_CONTENT_LOCAL_TESTING_H_
#define BERTH_SERVICES_CONTENT_LOCAL_TESTING_H_

#include <memory>
#include <string>

#include "services/content/local/local_store.h"
#include "services/metadata/gc.h"
#include "services/metadata/metadata.h"

namespace berth::content::local {

struct TestStore {
  // A new directory under TEST_TMPDIR holding content/ and metadata.db.
  static std::unique_ptr<TestStore> Make();

  std::string root;
  std::unique_ptr<metadata::Metadata> md;
  std::shared_ptr<LocalContentStore> store;
  std::unique_ptr<metadata::Collector> gc;
};

// Writes `data` under ref "ref-<digest>" and commits it, expecting its digest and size.
absl::StatusOr<Info> WriteBlob(ContentStore& store, const std::string& ns, const std::string& data,
                               const Labels& labels = {}, const std::string& lease = "");

}  // namespace berth::content::local

#endif  // BERTH_SERVICES_CONTENT_LOCAL_TESTING_H_
