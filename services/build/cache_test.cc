#include "services/build/cache.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace berth::build {
namespace {

TEST(BuildCache, PutGetPrunePerNamespace) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/cache.db";
  absl::StatusOr<std::unique_ptr<BuildCache>> c = BuildCache::Open(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE((*c)->Get("default", "k1")->has_value());
  CacheEntry e{.created = absl::FromUnixNanos(42),
               .layer_digest = "sha256:l",
               .layer_media_type = "t",
               .layer_size = 7,
               .diff_id = "sha256:d"};
  ASSERT_TRUE((*c)->Put("default", "k1", e).ok());
  ASSERT_TRUE((*c)->Put("default", "k2", CacheEntry{.created = absl::FromUnixNanos(1)}).ok());
  ASSERT_TRUE((*c)->Put("other", "k1", CacheEntry{.created = absl::FromUnixNanos(2)}).ok());
  absl::optional<CacheEntry> got = *(*c)->Get("default", "k1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->created, absl::FromUnixNanos(42));
  EXPECT_EQ(got->layer_digest, "sha256:l");
  EXPECT_EQ(got->layer_size, 7);
  EXPECT_EQ(got->diff_id, "sha256:d");
  EXPECT_EQ((*(*c)->Get("other", "k1"))->created, absl::FromUnixNanos(2));
  EXPECT_EQ(*(*c)->Prune("default"), 2);
  EXPECT_FALSE((*c)->Get("default", "k1")->has_value());
  EXPECT_TRUE((*c)->Get("other", "k1")->has_value());
  // Reopened: still there.
  c->reset();
  c = BuildCache::Open(path);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)->Get("other", "k1")->has_value());
}

}  // namespace
}  // namespace berth::build
