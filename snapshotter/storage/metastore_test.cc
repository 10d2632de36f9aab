#include "snapshotter/storage/metastore.h"

#include "gtest/gtest.h"

namespace berth::snapshotter {
namespace {

auto Ok = [](const SnapshotRef&) { return absl::OkStatus(); };

class MetaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ms = MetaStore::Open(":memory:");
    ASSERT_TRUE(ms.ok()) << ms.status();
    ms_ = std::move(*ms);
  }
  std::unique_ptr<MetaStore> ms_;
};

TEST_F(MetaStoreTest, ChainsCommitsAndParents) {
  auto a = ms_->Create(Kind::kActive, "a", "", {{"x", "1"}}, Ok);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->parent_ids.empty());
  // An active snapshot cannot be a parent.
  auto bad = ms_->Create(Kind::kActive, "b", "a", {}, Ok);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition) << bad.status();
  ASSERT_TRUE(ms_->Commit("a", "A", {{"y", "2"}}, Usage{10, 1}).ok());
  auto b = ms_->Create(Kind::kActive, "b", "A", {}, Ok);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(ms_->Commit("b", "B", {}, Usage{}).ok());
  auto c = ms_->Create(Kind::kView, "c", "B", {}, Ok);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->parent_ids, (std::vector<int64_t>{b->id, a->id}));
  EXPECT_GT(c->id, b->id);

  auto info = ms_->GetInfo("A");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->kind, Kind::kCommitted);
  EXPECT_EQ(info->labels, (Labels{{"y", "2"}}));
  EXPECT_EQ(ms_->GetInfo("a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ms_->GetInfo("c")->parent, "B");
  EXPECT_EQ(ms_->CommittedUsage("A")->size, 10);

  auto rm = ms_->Remove("B", [](int64_t) { return absl::OkStatus(); });
  EXPECT_EQ(rm.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(rm.status().message().find("\"c\""), std::string::npos) << rm.status();
  ASSERT_TRUE(ms_->Remove("c", [](int64_t) { return absl::OkStatus(); }).ok());
  ASSERT_TRUE(ms_->Remove("B", [](int64_t) { return absl::OkStatus(); }).ok());
  EXPECT_EQ(ms_->Ids()->size(), 1u);
}

TEST_F(MetaStoreTest, DuplicatesMissingParentsAndFailedMakeLeaveNothing) {
  ASSERT_TRUE(ms_->Create(Kind::kActive, "a", "", {}, Ok).ok());
  EXPECT_EQ(ms_->Create(Kind::kActive, "a", "", {}, Ok).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ms_->Create(Kind::kActive, "b", "nope", {}, Ok).status().code(),
            absl::StatusCode::kNotFound);
  auto failed = ms_->Create(Kind::kActive, "c", "", {},
                            [](const SnapshotRef&) { return absl::InternalError("disk on fire"); });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ms_->GetInfo("c").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ms_->Commit("a", "a2", {}, {}).ok(), true);
  EXPECT_EQ(ms_->Commit("a2", "a3", {}, {}).status().code(), absl::StatusCode::kFailedPrecondition);
  auto rm = ms_->Remove("a2", [](int64_t) { return absl::InternalError("rename failed"); });
  EXPECT_FALSE(rm.ok());
  EXPECT_TRUE(ms_->GetInfo("a2").ok()) << "a failed remove keeps the record";
}

TEST_F(MetaStoreTest, UpdateLabels) {
  ASSERT_TRUE(ms_->Create(Kind::kActive, "a", "", {{"k1", "v1"}, {"k2", "v2"}}, Ok).ok());
  Info up;
  up.name = "a";
  up.labels = {{"k1", "new"}, {"k3", "v3"}};
  auto i = ms_->UpdateInfo(up, {"labels.k1", "labels.k2"});
  ASSERT_TRUE(i.ok()) << i.status();
  EXPECT_EQ(i->labels, (Labels{{"k1", "new"}}));
  i = ms_->UpdateInfo(up, {});
  EXPECT_EQ(i->labels, up.labels);
  EXPECT_EQ(ms_->UpdateInfo(up, {"parent"}).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> seen;
  ASSERT_TRUE(ms_->Walk([&](const Info& info) {
                   seen.push_back(info.name);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(seen, std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace berth::snapshotter
