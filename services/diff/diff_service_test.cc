// The Diff RPC over the real local store and metadata, on an in-process gRPC server.
#include "services/diff/diff_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include "absl/time/clock.h"
#include "services/content/local/testing.h"
#include "services/metadata/content_records.h"
#include "services/metadata/lease_records.h"

namespace berth::services {
namespace {

namespace pb = berth::services::diff::v1;

class DiffServiceTest : public testing::Test {
 protected:
  void SetUp() override {
    t_ = ::berth::content::local::TestStore::Make();
    service_ = std::make_unique<DiffService>(
        t_->store,
        [this](const std::string& ns, const std::string& lease, const std::string& digest) {
          return t_->md->Update([&](metadata::Db& db) {
            return metadata::AddLeaseResource(db, ns, lease, {.type = "content", .id = digest});
          });
        });
    grpc::ServerBuilder b;
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    stub_ = pb::Diff::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
    tree_ = t_->root + "/tree";
    ASSERT_EQ(mkdir(tree_.c_str(), 0755), 0);
    std::ofstream(tree_ + "/file") << "layer contents";
  }
  void TearDown() override { server_->Shutdown(); }

  void NewLease(const std::string& id) {
    absl::Status st = t_->md->Update([&](metadata::Db& db) -> absl::Status {
      absl::Status ns = metadata::EnsureNamespace(db, "default", absl::Now());
      if (!ns.ok()) return ns;
      return metadata::InsertLease(db, {.ns = "default", .id = id, .created_at = absl::Now()});
    });
    ASSERT_TRUE(st.ok()) << st;
  }

  // The diff of the tree against nothing, under `lease`.
  grpc::Status Diff(const std::string& lease, pb::DiffResponse* resp) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("berth-namespace", "default");
    ctx.AddMetadata("berth-lease", lease);
    pb::DiffRequest req;
    auto* m = req.add_right();
    m->set_type("bind");
    m->set_source(tree_);
    m->add_options("rbind");
    m->add_options("ro");
    return stub_->Diff(&ctx, req, resp);
  }

  std::unique_ptr<::berth::content::local::TestStore> t_;
  std::unique_ptr<DiffService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::Diff::Stub> stub_;
  std::string tree_;
};

TEST_F(DiffServiceTest, ALayerAlreadyStoredJoinsTheRequestsLease) {
  NewLease("first");
  NewLease("second");
  pb::DiffResponse a, b;
  ASSERT_TRUE(Diff("first", &a).ok());
  // The same changes again: the namespace already has the blob, so the commit stores nothing.
  grpc::Status st = Diff("second", &b);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(a.diff().digest(), b.diff().digest());

  absl::StatusOr<std::vector<metadata::LeaseResource>> held;
  ASSERT_TRUE(t_->md
                  ->View([&](metadata::Db& db) {
                    held = metadata::ListLeaseResources(db, "default", "second");
                    return held.status();
                  })
                  .ok());
  EXPECT_NE(std::find(held->begin(), held->end(),
                      metadata::LeaseResource{.type = "content", .id = b.diff().digest()}),
            held->end());

  // The first lease goes and a collection runs before the caller references the layer: the
  // second lease still keeps it.
  ASSERT_TRUE(
      t_->md
          ->Update([&](metadata::Db& db) { return metadata::DeleteLease(db, "default", "first"); })
          .ok());
  ASSERT_TRUE(t_->gc->Collect().ok());
  auto digest = Digest::Parse(b.diff().digest());
  ASSERT_TRUE(digest.ok());
  absl::StatusOr<::berth::content::Info> info = t_->store->GetInfo("default", *digest);
  EXPECT_TRUE(info.ok()) << info.status();
}

TEST_F(DiffServiceTest, UnknownLeaseIsRefused) {
  pb::DiffResponse r;
  grpc::Status st = Diff("nope", &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
}

}  // namespace
}  // namespace berth::services
