// Garbage collection over the real local store: which blob files survive a collection.
#include <gtest/gtest.h>

#include <fstream>

#include "common/status_macros.h"
#include "common/syscall.h"
#include "services/content/local/local_store.h"
#include "services/content/local/testing.h"
#include "services/metadata/content_records.h"
#include "services/metadata/lease_records.h"

namespace berth::content::local {
namespace {

class ContentGcTest : public testing::Test {
 protected:
  void SetUp() override { t_ = TestStore::Make(); }
  ContentStore& store() { return *t_->store; }
  bool OnDisk(const std::string& data) {
    return sys::Exists(t_->store->paths().Blob(Sha256Of(data)));
  }
  std::string D(const std::string& data) { return Sha256Of(data).ToString(); }
  void Put(const std::string& ns, const std::string& data, Labels labels = {},
           const std::string& lease = "") {
    absl::StatusOr<Info> info = WriteBlob(store(), ns, data, labels, lease);
    ASSERT_TRUE(info.ok()) << info.status();
  }
  metadata::GcStats Collect() {
    absl::StatusOr<metadata::GcStats> s = t_->gc->Collect();
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : metadata::GcStats{};
  }
  void CreateLease(const std::string& ns, const std::string& id) {
    ASSERT_TRUE(t_->md
                    ->Update([&](metadata::Db& db) -> absl::Status {
                      RETURN_IF_ERROR(metadata::EnsureNamespace(db, ns, absl::Now()));
                      return metadata::InsertLease(db,
                                                   {.ns = ns, .id = id, .created_at = absl::Now()});
                    })
                    .ok());
  }
  std::unique_ptr<TestStore> t_;
};

TEST_F(ContentGcTest, DeletingAManifestTakesItsUniqueBlobsAndLeavesSharedOnes) {
  // Children first: a parent's labels name them, as an image's manifest names its layers.
  Put("default", "shared layer");
  Put("default", "layer one");
  Put("default", "layer two");
  Put("default", "manifest one",
      {{"berth.io/gc.root", ""},
       {"berth.io/gc.ref.content.l.0", D("shared layer")},
       {"berth.io/gc.ref.content.l.1", D("layer one")}});
  Put("default", "manifest two",
      {{"berth.io/gc.root", ""},
       {"berth.io/gc.ref.content.l.0", D("shared layer")},
       {"berth.io/gc.ref.content.l.1", D("layer two")}});
  EXPECT_EQ(Collect().objects_removed, 0);

  ASSERT_TRUE(store().Delete("default", Sha256Of("manifest one")).ok());
  metadata::GcStats s = Collect();
  EXPECT_EQ(s.records_removed, 1);  // layer one; the manifest's record went with Delete
  EXPECT_EQ(s.objects_removed, 2);
  EXPECT_FALSE(OnDisk("manifest one"));
  EXPECT_FALSE(OnDisk("layer one"));
  EXPECT_TRUE(OnDisk("shared layer"));
  EXPECT_TRUE(OnDisk("manifest two"));
  EXPECT_TRUE(OnDisk("layer two"));
}

TEST_F(ContentGcTest, ABlobStaysWhileAnyNamespaceHoldsIt) {
  Put("a", "both", {{"berth.io/gc.root", "1"}});
  Put("b", "both", {{"berth.io/gc.root", "1"}});
  ASSERT_TRUE(store().Delete("a", Sha256Of("both")).ok());
  Collect();
  EXPECT_TRUE(OnDisk("both"));
  EXPECT_TRUE(store().GetInfo("b", Sha256Of("both")).ok());
  ASSERT_TRUE(store().Delete("b", Sha256Of("both")).ok());
  Collect();
  EXPECT_FALSE(OnDisk("both"));
}

TEST_F(ContentGcTest, ALeaseKeepsBlobsAliveUntilReleased) {
  CreateLease("default", "pull");
  Put("default", "config", {}, "pull");
  Put("default", "layer", {}, "pull");
  Put("default", "unprotected");
  Collect();
  EXPECT_TRUE(OnDisk("config"));
  EXPECT_TRUE(OnDisk("layer"));
  EXPECT_FALSE(OnDisk("unprotected")) << "nothing held it";

  ASSERT_TRUE(
      t_->md->Update([](metadata::Db& db) { return metadata::DeleteLease(db, "default", "pull"); })
          .ok());
  metadata::GcStats s = Collect();
  EXPECT_EQ(s.objects_removed, 2);
  EXPECT_FALSE(OnDisk("config"));
  EXPECT_FALSE(OnDisk("layer"));
}

TEST_F(ContentGcTest, OrphanBlobFilesAreSweptOtherFilesAreNot) {
  // A blob file with no record, as a crash between rename and insert would leave.
  const std::string orphan = t_->store->paths().Blob(Sha256Of("orphan"));
  std::ofstream(orphan) << "orphan";
  const std::string stray = t_->store->paths().BlobsDir() + "/README";
  std::ofstream(stray) << "not a blob";
  EXPECT_EQ(Collect().objects_removed, 1);
  EXPECT_FALSE(sys::Exists(orphan));
  EXPECT_TRUE(sys::Exists(stray));
}

TEST_F(ContentGcTest, IngestsInFlightAreNotCollected) {
  absl::StatusOr<std::unique_ptr<Writer>> w = store().OpenWriter("default", {.ref = "slow"});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("partial").ok());
  Collect();
  ASSERT_TRUE((*w)->Write(" and the rest").ok());
  EXPECT_TRUE((*w)->Commit({{"berth.io/gc.root", ""}}).ok());
}

// An ingest whose writer went away and left `data` behind.
void Abandon(ContentStore& store, const std::string& ns, const std::string& ref,
             const std::string& data) {
  absl::StatusOr<std::unique_ptr<Writer>> w = store.OpenWriter(ns, {.ref = ref});
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->Write(data).ok());
}

TEST_F(ContentGcTest, AbandonedIngestsExpireUnlessALeaseOrAWriterHoldsThem) {
  Abandon(store(), "default", "abandoned", "partial");
  Abandon(store(), "other", "abandoned", "partial");
  Abandon(store(), "default", "held", "partial");
  Abandon(store(), "default", "job-1/blobs/sha256/x", "partial");  // a load's "<lease>/…"
  Abandon(store(), "default", "gone-job/blobs/sha256/x", "partial");
  CreateLease("default", "keeper");
  CreateLease("default", "job-1");
  ASSERT_TRUE(t_->md
                  ->Update([](metadata::Db& db) {
                    return metadata::AddLeaseResource(db, "default", "keeper",
                                                      {.type = "ingests", .id = "held"});
                  })
                  .ok());
  absl::StatusOr<std::unique_ptr<Writer>> busy = store().OpenWriter("default", {.ref = "busy"});
  ASSERT_TRUE(busy.ok());
  ASSERT_TRUE((*busy)->Write("partial").ok());

  // Within the expiry (24 hours by default) nothing goes.
  EXPECT_EQ(Collect().objects_removed, 0);
  absl::StatusOr<int64_t> expired = t_->store->ExpireIngests(absl::Now() + absl::Hours(23));
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 0);

  expired = t_->store->ExpireIngests(absl::Now() + absl::Hours(25));
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 3);
  auto refs = [&](const std::string& ns) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<IngestStatus>> all = store().ListStatuses(ns);
    EXPECT_TRUE(all.ok()) << all.status();
    if (!all.ok()) return out;
    for (const IngestStatus& s : *all) out.push_back(s.ref);
    return out;
  };
  EXPECT_EQ(refs("default"), (std::vector<std::string>{"busy", "held", "job-1/blobs/sha256/x"}));
  EXPECT_TRUE(refs("other").empty());
  EXPECT_TRUE((*busy)->Write(" and the rest").ok());
  EXPECT_TRUE((*busy)->Commit({{"berth.io/gc.root", ""}}).ok());

  // A collection expires them too, with the configured expiry; zero turns expiry off.
  ASSERT_TRUE(
      t_->md->Update([](metadata::Db& db) { return metadata::DeleteLease(db, "default", "job-1"); })
          .ok());
  t_->store->SetIngestExpiry(absl::ZeroDuration());
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(Collect().objects_removed, 0);
  t_->store->SetIngestExpiry(absl::Milliseconds(10));
  EXPECT_EQ(Collect().objects_removed, 1);
  EXPECT_EQ(refs("default"), std::vector<std::string>{"held"});
}

}  // namespace
}  // namespace berth::content::local
