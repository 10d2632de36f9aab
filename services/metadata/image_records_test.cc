#include "services/metadata/image_records.h"

#include <gtest/gtest.h>

#include "services/metadata/content_records.h"
#include "services/metadata/gc.h"
#include "services/metadata/metadata.h"

namespace berth::metadata {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

std::string D(char c) { return "sha256:" + std::string(64, c); }

class ImageRecordsTest : public testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Metadata>> md = Metadata::Open(":memory:");
    ASSERT_TRUE(md.ok()) << md.status();
    md_ = *std::move(md);
  }
  ImageRecord Image(const std::string& ns, const std::string& name, const std::string& digest) {
    return {.ns = ns,
            .name = name,
            .target = {.media_type = "application/vnd.oci.image.manifest.v1+json",
                       .digest = digest,
                       .size = 10,
                       .annotations = {{"a", "b"}}},
            .labels = {{"k", "v"}},
            .created_at = kNow,
            .updated_at = kNow};
  }
  absl::Status Insert(const ImageRecord& r) {
    return md_->Update([&](Db& db) -> absl::Status {
      if (absl::Status st = EnsureNamespace(db, r.ns, kNow); !st.ok()) return st;
      return InsertImage(db, r);
    });
  }
  void PutContent(const std::string& ns, const std::string& digest, Labels labels = {}) {
    ASSERT_TRUE(md_->Update([&](Db& db) -> absl::Status {
                     if (absl::Status st = EnsureNamespace(db, ns, kNow); !st.ok()) return st;
                     return InsertContent(db, {.ns = ns,
                                               .digest = digest,
                                               .size = 1,
                                               .labels = std::move(labels),
                                               .created_at = kNow,
                                               .updated_at = kNow});
                   })
                    .ok());
  }
  bool HasContent(const std::string& ns, const std::string& digest) {
    bool found = false;
    EXPECT_TRUE(md_->View([&](Db& db) -> absl::Status {
                     absl::StatusOr<absl::optional<ContentRecord>> r = GetContent(db, ns, digest);
                     if (!r.ok()) return r.status();
                     found = r->has_value();
                     return absl::OkStatus();
                   })
                    .ok());
    return found;
  }
  std::unique_ptr<Metadata> md_;
};

TEST_F(ImageRecordsTest, InsertGetUpdateDeleteRoundTrip) {
  ASSERT_TRUE(Insert(Image("default", "docker.io/library/a:latest", D('a'))).ok());
  absl::Status dup = Insert(Image("default", "docker.io/library/a:latest", D('b')));
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(dup.message().find("image \"docker.io/library/a:latest\" already exists"),
            std::string::npos)
      << dup;
  // The same name in another namespace is another image.
  ASSERT_TRUE(Insert(Image("other", "docker.io/library/a:latest", D('c'))).ok());

  ASSERT_TRUE(md_->Update([&](Db& db) -> absl::Status {
                   ImageRecord r = Image("default", "docker.io/library/a:latest", D('d'));
                   r.labels = {{"x", "y"}};
                   r.updated_at = kNow + absl::Seconds(5);
                   return UpdateImage(db, r);
                 })
                  .ok());
  ASSERT_TRUE(md_->View([&](Db& db) -> absl::Status {
                   absl::StatusOr<absl::optional<ImageRecord>> r =
                       GetImage(db, "default", "docker.io/library/a:latest");
                   EXPECT_TRUE(r.ok() && r->has_value());
                   EXPECT_EQ((*r)->target.digest, D('d'));
                   EXPECT_EQ((*r)->target.annotations.at("a"), "b");
                   EXPECT_EQ((*r)->labels, (Labels{{"x", "y"}}));
                   EXPECT_EQ((*r)->created_at, kNow);
                   EXPECT_EQ((*r)->updated_at, kNow + absl::Seconds(5));
                   int n = 0;
                   EXPECT_TRUE(ForEachImage(db, "other", [&](ImageRecord i) {
                                 EXPECT_EQ(i.target.digest, D('c'));
                                 ++n;
                                 return absl::OkStatus();
                               }).ok());
                   EXPECT_EQ(n, 1);
                   return absl::OkStatus();
                 })
                  .ok());

  absl::Status missing = md_->Update([&](Db& db) -> absl::Status {
    return UpdateImage(db, Image("default", "docker.io/library/zzz:latest", D('a')));
  });
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(md_->Update([&](Db& db) -> absl::Status {
                   absl::StatusOr<bool> gone =
                       DeleteImage(db, "default", "docker.io/library/a:latest");
                   EXPECT_TRUE(gone.ok() && *gone);
                   gone = DeleteImage(db, "default", "docker.io/library/a:latest");
                   EXPECT_TRUE(gone.ok() && !*gone);
                   return absl::OkStatus();
                 })
                  .ok());
}

TEST_F(ImageRecordsTest, ImagesKeepTheirTargetsAndWhatTheyReference) {
  Collector gc(md_.get());
  gc.AddRoots(ImageRoots);
  PutContent("default", D('1'));  // layer
  PutContent("default", D('2'));  // config
  PutContent("default", D('3'),
             {{"berth.io/gc.ref.content.l.0", D('1')}, {"berth.io/gc.ref.content.config", D('2')}});
  PutContent("default", D('4'));  // held by nothing
  PutContent("other", D('3'));    // another namespace's copy: no image there
  ASSERT_TRUE(Insert(Image("default", "docker.io/library/a:latest", D('3'))).ok());

  absl::StatusOr<GcStats> stats = gc.Collect(kNow);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records_removed, 2);
  EXPECT_TRUE(HasContent("default", D('1')));
  EXPECT_TRUE(HasContent("default", D('2')));
  EXPECT_TRUE(HasContent("default", D('3')));
  EXPECT_FALSE(HasContent("default", D('4')));
  EXPECT_FALSE(HasContent("other", D('3')));

  ASSERT_TRUE(md_->Update([&](Db& db) {
                   return DeleteImage(db, "default", "docker.io/library/a:latest").status();
                 })
                  .ok());
  stats = gc.Collect(kNow);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->records_removed, 3);
}

}  // namespace
}  // namespace berth::metadata
