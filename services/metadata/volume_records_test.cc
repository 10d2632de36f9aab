#include "services/metadata/volume_records.h"

#include <gtest/gtest.h>

#include "services/metadata/content_records.h"
#include "services/metadata/metadata.h"

namespace berth::metadata {
namespace {

TEST(VolumeRecords, InsertGetListDelete) {
  absl::StatusOr<std::unique_ptr<Metadata>> md = Metadata::Open(":memory:");
  ASSERT_TRUE(md.ok()) << md.status();
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  ASSERT_TRUE((*md)
                  ->Update([&](Db& db) -> absl::Status {
                    EXPECT_TRUE(EnsureNamespace(db, "default", now).ok());
                    EXPECT_TRUE(EnsureNamespace(db, "other", now).ok());
                    VolumeRow a{.ns = "default",
                                .name = "data",
                                .driver = "local",
                                .labels = {{"env", "prod"}},
                                .options = {{"type", "tmpfs"}},
                                .created_at = now};
                    EXPECT_TRUE(InsertVolume(db, a).ok());
                    VolumeRow b = a;
                    b.name = "anon";
                    b.anonymous = true;
                    EXPECT_TRUE(InsertVolume(db, b).ok());
                    b.ns = "other";
                    EXPECT_TRUE(InsertVolume(db, b).ok());
                    absl::Status dup = InsertVolume(db, a);
                    EXPECT_TRUE(absl::IsAlreadyExists(dup)) << dup;
                    EXPECT_EQ(dup.message(),
                              "volume \"data\" already exists in namespace \"default\"");
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE((*md)
                  ->View([&](Db& db) -> absl::Status {
                    absl::StatusOr<absl::optional<VolumeRow>> got =
                        GetVolume(db, "default", "data");
                    EXPECT_TRUE(got.ok() && got->has_value());
                    EXPECT_EQ((*got)->driver, "local");
                    EXPECT_EQ((*got)->labels.at("env"), "prod");
                    EXPECT_EQ((*got)->options.at("type"), "tmpfs");
                    EXPECT_FALSE((*got)->anonymous);
                    EXPECT_EQ((*got)->created_at, now);
                    std::vector<std::string> names;
                    EXPECT_TRUE(ForEachVolume(db, "default", [&](VolumeRow r) {
                                  names.push_back(r.name + (r.anonymous ? "*" : ""));
                                  return absl::OkStatus();
                                }).ok());
                    EXPECT_EQ(names, (std::vector<std::string>{"anon*", "data"}));
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE((*md)
                  ->Update([&](Db& db) -> absl::Status {
                    EXPECT_TRUE(*DeleteVolume(db, "default", "anon"));
                    EXPECT_FALSE(*DeleteVolume(db, "default", "anon"));
                    absl::StatusOr<absl::optional<VolumeRow>> other =
                        GetVolume(db, "other", "anon");
                    EXPECT_TRUE(other.ok() && other->has_value());
                    return absl::OkStatus();
                  })
                  .ok());
}

}  // namespace
}  // namespace berth::metadata
