#include "services/content/local/testing.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/status_macros.h"

namespace berth::content::local {

std::unique_ptr<TestStore> TestStore::Make() {
  const char* tmp = getenv("TEST_TMPDIR");
  std::string tmpl = std::string(tmp != nullptr ? tmp : "/tmp") + "/store.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  auto t = std::make_unique<TestStore>();
  t->root = tmpl;
  absl::StatusOr<std::unique_ptr<metadata::Metadata>> md =
      metadata::Metadata::Open(t->root + "/metadata.db");
  EXPECT_TRUE(md.ok()) << md.status();
  t->md = *std::move(md);
  absl::StatusOr<std::shared_ptr<LocalContentStore>> store =
      LocalContentStore::Open(t->root + "/content", t->md.get());
  EXPECT_TRUE(store.ok()) << store.status();
  t->store = *std::move(store);
  t->gc = std::make_unique<metadata::Collector>(t->md.get());
  t->gc->AddSweeper(t->store);
  return t;
}

absl::StatusOr<Info> WriteBlob(ContentStore& store, const std::string& ns, const std::string& data,
                               const Labels& labels, const std::string& lease) {
  const std::string digest = Sha256Of(data).ToString();
  ASSIGN_OR_RETURN(std::unique_ptr<Writer> w,
                   store.OpenWriter(ns, {.ref = "ref-" + digest,
                                         .total = static_cast<int64_t>(data.size()),
                                         .expected = digest,
                                         .lease = lease}));
  RETURN_IF_ERROR(w->Write(data));
  return w->Commit(labels);
}

}  // namespace berth::content::local
