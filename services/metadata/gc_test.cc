#include "services/metadata/gc.h"

#include <gtest/gtest.h>

#include "services/metadata/content_records.h"
#include "services/metadata/lease_records.h"

namespace berth::metadata {
namespace {

class CountingSweeper : public Sweeper {
 public:
  absl::StatusOr<int64_t> SweepUnreferenced(Metadata&) override {
    ++calls;
    return 2;
  }
  int calls = 0;
};

class GcTest : public testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Metadata>> md = Metadata::Open(":memory:");
    ASSERT_TRUE(md.ok()) << md.status();
    md_ = *std::move(md);
    gc_ = std::make_unique<Collector>(md_.get());
  }

  void Put(const std::string& ns, const std::string& digest, Labels labels = {}) {
    absl::Status st = md_->Update([&](Db& db) -> absl::Status {
      EXPECT_TRUE(EnsureNamespace(db, ns, now_).ok());
      return InsertContent(db, {.ns = ns,
                                .digest = digest,
                                .size = 1,
                                .labels = std::move(labels),
                                .created_at = now_,
                                .updated_at = now_});
    });
    ASSERT_TRUE(st.ok()) << st;
  }

  bool Has(const std::string& ns, const std::string& digest) {
    bool has = false;
    EXPECT_TRUE(md_->View([&](Db& db) -> absl::Status {
                     has = GetContent(db, ns, digest)->has_value();
                     return absl::OkStatus();
                   })
                    .ok());
    return has;
  }

  absl::Status Run(std::function<absl::Status(Db&)> fn) { return md_->Update(fn); }

  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  std::unique_ptr<Metadata> md_;
  std::unique_ptr<Collector> gc_;
};

TEST_F(GcTest, UnrootedContentIsCollectedRootsAndTheirRefsStay) {
  Put("a", "m1",
      {{kGcRootLabel, ""},
       {"berth.io/gc.ref.content.l.0", "l0"},
       {"berth.io/gc.ref.content.config", "c1"}});
  Put("a", "l0", {{"berth.io/gc.ref.content", "deep"}});
  Put("a", "deep");
  Put("a", "c1");
  Put("a", "loose");
  // Look-alike labels are not references.
  Put("a", "m2", {{kGcRootLabel, ""}, {"berth.io/gc.ref.contents", "x"}});
  Put("a", "x");
  // References do not cross namespaces.
  Put("b", "l0");

  absl::StatusOr<GcStats> stats = gc_->Collect(now_);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records_removed, 3);
  for (const char* d : {"m1", "l0", "deep", "c1", "m2"}) EXPECT_TRUE(Has("a", d)) << d;
  EXPECT_FALSE(Has("a", "loose"));
  EXPECT_FALSE(Has("a", "x"));
  EXPECT_FALSE(Has("b", "l0"));
}

TEST_F(GcTest, LeasesHoldContentUntilDeletedOrExpired) {
  Put("a", "held");
  Put("a", "child");
  ASSERT_TRUE(Run([&](Db& db) -> absl::Status {
                EXPECT_TRUE(UpdateContentLabels(db, "a", "held",
                                                {{"berth.io/gc.ref.content.0", "child"}}, now_)
                                .ok());
                EXPECT_TRUE(InsertLease(db, {.ns = "a", .id = "forever", .created_at = now_}).ok());
                EXPECT_TRUE(InsertLease(db, {.ns = "a",
                                             .id = "brief",
                                             .created_at = now_,
                                             .expires_at = now_ + absl::Minutes(1)})
                                .ok());
                EXPECT_TRUE(AddLeaseResource(db, "a", "forever", {"content", "held"}).ok());
                return AddLeaseResource(db, "a", "brief", {"content", "child"});
              }).ok());
  ASSERT_TRUE(gc_->Collect(now_).ok());
  EXPECT_TRUE(Has("a", "held"));
  EXPECT_TRUE(Has("a", "child"));

  ASSERT_TRUE(Run([&](Db& db) { return DeleteLease(db, "a", "forever"); }).ok());
  // "brief" still holds child, until it expires.
  ASSERT_TRUE(gc_->Collect(now_).ok());
  EXPECT_FALSE(Has("a", "held"));
  EXPECT_TRUE(Has("a", "child"));

  absl::StatusOr<GcStats> stats = gc_->Collect(now_ + absl::Minutes(2));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->leases_expired, 1);
  EXPECT_FALSE(Has("a", "child"));
}

TEST_F(GcTest, ExtraRootFindersAndSweepersTakePart) {
  Put("a", "img");
  gc_->AddRoots([](Db&, absl::Time, std::vector<GcNode>* roots) {
    roots->push_back({.ns = "a", .type = "content", .id = "img"});
    return absl::OkStatus();
  });
  auto sweeper = std::make_shared<CountingSweeper>();
  gc_->AddSweeper(sweeper);
  absl::StatusOr<GcStats> stats = gc_->Collect(now_);
  ASSERT_TRUE(stats.ok());
  EXPECT_TRUE(Has("a", "img"));
  EXPECT_EQ(sweeper->calls, 1);
  EXPECT_EQ(stats->objects_removed, 2);

  sweeper.reset();  // a sweeper that is gone is skipped
  EXPECT_TRUE(gc_->Collect(now_).ok());
}

}  // namespace
}  // namespace berth::metadata
