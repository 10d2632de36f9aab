#include "services/metadata/metadata.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "services/metadata/content_records.h"
#include "services/metadata/lease_records.h"

namespace berth::metadata {
namespace {

std::string TempDbPath(const std::string& name) {
  const char* dir = getenv("TEST_TMPDIR");
  std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
  ::unlink(path.c_str());
  return path;
}

const std::vector<Migration> kTwo = {
    {1, "table a", "CREATE TABLE a (x INTEGER);"},
    {2, "table b", "CREATE TABLE b (y INTEGER); INSERT INTO b VALUES (42);"},
};

TEST(Migrations, FreshDatabaseGetsEverySchemaVersion) {
  absl::StatusOr<Db> db = Db::Open(":memory:");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(Migrate(*db, kTwo).ok());
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 2);
  EXPECT_EQ(*db->QueryInt("SELECT y FROM b"), 42);
  // Running again changes nothing (b would get a second row otherwise).
  ASSERT_TRUE(Migrate(*db, kTwo).ok());
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM b"), 1);
}

TEST(Migrations, OnlyNewMigrationsRun) {
  absl::StatusOr<Db> db = Db::Open(":memory:");
  ASSERT_TRUE(Migrate(*db, {kTwo[0]}).ok());
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 1);
  ASSERT_TRUE(Migrate(*db, kTwo).ok());
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 2);
}

TEST(Migrations, AFailingMigrationRollsBackWhole) {
  absl::StatusOr<Db> db = Db::Open(":memory:");
  std::vector<Migration> broken = {
      kTwo[0], {2, "half broken", "CREATE TABLE c (z INTEGER); INSERT INTO nope VALUES (1);"}};
  absl::Status st = Migrate(*db, broken);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("to schema version 2 (half broken)"), std::string::npos) << st;
  EXPECT_NE(st.message().find("no such table: nope"), std::string::npos) << st;
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 1);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM sqlite_master WHERE name = 'c'"), 0);
}

TEST(Migrations, NewerDatabaseIsRefused) {
  absl::StatusOr<Db> db = Db::Open(":memory:");
  ASSERT_TRUE(Migrate(*db, kTwo).ok());
  absl::Status st = Migrate(*db, {kTwo[0]});
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("schema version 2, newer than this berthd knows (1)"),
            std::string::npos)
      << st;
}

TEST(Migrations, VersionsMustBeInOrder) {
  absl::StatusOr<Db> db = Db::Open(":memory:");
  EXPECT_EQ(Migrate(*db, {kTwo[1]}).code(), absl::StatusCode::kInternal);
}

TEST(Metadata, FileDatabaseIsWalWithForeignKeysAndSurvivesReopen) {
  const std::string path = TempDbPath("wal.db");
  {
    absl::StatusOr<std::unique_ptr<Metadata>> md = Metadata::Open(path);
    ASSERT_TRUE(md.ok()) << md.status();
    ASSERT_TRUE((*md)
                    ->Update([](Db& db) -> absl::Status {
                      EXPECT_EQ(*db.QueryInt("PRAGMA foreign_keys"), 1);
                      EXPECT_EQ(*db.QueryInt("PRAGMA busy_timeout"), 10000);
                      return EnsureNamespace(db, "default", absl::Now());
                    })
                    .ok());
  }
  absl::StatusOr<Db> raw = Db::Open(path);
  ASSERT_TRUE(raw.ok());
  absl::StatusOr<Statement> mode = raw->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(*mode->Step());
  EXPECT_EQ(mode->ColumnText(0), "wal");
  EXPECT_EQ(*raw->QueryInt("PRAGMA user_version"), static_cast<int64_t>(Schema().size()));
  EXPECT_EQ(*raw->QueryInt("SELECT count(*) FROM namespaces"), 1);
}

TEST(Metadata, UpdateRollsBackOnError) {
  absl::StatusOr<std::unique_ptr<Metadata>> md = Metadata::Open(":memory:");
  ASSERT_TRUE(md.ok());
  absl::Status st = (*md)->Update([](Db& db) -> absl::Status {
    EXPECT_TRUE(EnsureNamespace(db, "a", absl::Now()).ok());
    return absl::InternalError("boom");
  });
  EXPECT_EQ(st.message(), "boom");
  ASSERT_TRUE((*md)
                  ->View([](Db& db) {
                    EXPECT_EQ(*db.QueryInt("SELECT count(*) FROM namespaces"), 0);
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST(Records, ContentAndLeasesRoundTrip) {
  absl::StatusOr<std::unique_ptr<Metadata>> md = Metadata::Open(":memory:");
  ASSERT_TRUE(md.ok());
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  absl::Status st = (*md)->Update([&](Db& db) -> absl::Status {
    EXPECT_TRUE(EnsureNamespace(db, "ns", now).ok());
    ContentRecord r{.ns = "ns",
                    .digest = "sha256:aa",
                    .size = 3,
                    .labels = {{"k", "v"}},
                    .created_at = now,
                    .updated_at = now};
    EXPECT_TRUE(InsertContent(db, r).ok());
    absl::Status dup = InsertContent(db, r);
    EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
    EXPECT_EQ(dup.message(), "content sha256:aa already exists in namespace \"ns\"");
    absl::optional<ContentRecord> got = *GetContent(db, "ns", "sha256:aa");
    EXPECT_TRUE(got.has_value());
    EXPECT_EQ(got->labels, (Labels{{"k", "v"}}));
    EXPECT_EQ(got->created_at, now);
    EXPECT_FALSE(GetContent(db, "other", "sha256:aa")->has_value());

    // Content in a namespace that was never created violates the foreign key.
    r.ns = "ghost";
    EXPECT_EQ(InsertContent(db, r).code(), absl::StatusCode::kFailedPrecondition);

    EXPECT_TRUE(InsertLease(db, {.ns = "ns", .id = "l1", .created_at = now}).ok());
    EXPECT_EQ(InsertLease(db, {.ns = "ns", .id = "l1", .created_at = now}).code(),
              absl::StatusCode::kAlreadyExists);
    EXPECT_TRUE(AddLeaseResource(db, "ns", "l1", {"content", "sha256:aa"}).ok());
    EXPECT_TRUE(AddLeaseResource(db, "ns", "l1", {"content", "sha256:aa"}).ok());
    EXPECT_EQ(AddLeaseResource(db, "ns", "nope", {"content", "sha256:aa"}).code(),
              absl::StatusCode::kNotFound);
    EXPECT_EQ(ListLeaseResources(db, "ns", "l1")->size(), 1u);
    EXPECT_EQ(LiveLeaseResources(db, now)->size(), 1u);
    // Deleting the lease takes its resources with it.
    EXPECT_TRUE(DeleteLease(db, "ns", "l1").ok());
    EXPECT_EQ(*db.QueryInt("SELECT count(*) FROM lease_resources"), 0);
    EXPECT_EQ(DeleteLease(db, "ns", "l1").message(), "lease \"l1\" in namespace \"ns\" not found");
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
}

TEST(Records, ExpiredLeasesAreNotLiveAndGetDeleted) {
  absl::StatusOr<std::unique_ptr<Metadata>> md = Metadata::Open(":memory:");
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  absl::Status st = (*md)->Update([&](Db& db) -> absl::Status {
    EXPECT_TRUE(EnsureNamespace(db, "ns", now).ok());
    EXPECT_TRUE(
        InsertLease(
            db, {.ns = "ns", .id = "old", .created_at = now, .expires_at = now - absl::Seconds(1)})
            .ok());
    EXPECT_TRUE(
        InsertLease(
            db, {.ns = "ns", .id = "new", .created_at = now, .expires_at = now + absl::Hours(1)})
            .ok());
    EXPECT_TRUE(AddLeaseResource(db, "ns", "old", {"content", "sha256:aa"}).ok());
    EXPECT_TRUE(AddLeaseResource(db, "ns", "new", {"content", "sha256:bb"}).ok());
    std::vector<HeldResource> live = *LiveLeaseResources(db, now);
    EXPECT_EQ(live.size(), 1u);
    EXPECT_EQ(live[0].resource.id, "sha256:bb");
    EXPECT_EQ(*DeleteExpiredLeases(db, now), 1);
    EXPECT_EQ(ListLeases(db, "ns")->size(), 1u);
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
}

}  // namespace
}  // namespace berth::metadata
