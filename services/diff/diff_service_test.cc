// The Diff RPC over the real local store and metadata, on an in-process gRPC server.
#include "services/diff/diff_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <vector>

#include "absl/time/clock.h"
#include "services/content/local/testing.h"
#include "services/metadata/content_records.h"
#include "services/metadata/lease_records.h"
#include "snapshotter/apply/apply.h"
#include "snapshotter/apply/tar_builder.h"

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

// Layers applied in order, each Apply naming the next as prefetch, give the same tree and
// diff_ids as applying them one by one in this process: decompressing ahead changes nothing
// but the time.
TEST_F(DiffServiceTest, MultiLayerApplyWithPrefetchMatchesPlainApply) {
  using ::berth::snapshotter::testing::TarBuilder;
  auto big = [](int seed) {
    std::string d(300 << 10, '\0');
    uint32_t x = static_cast<uint32_t>(seed);
    for (char& c : d) c = static_cast<char>((x = x * 1103515245 + 12345) >> 24);
    return d;
  };
  std::vector<std::string> layers = {
      TarBuilder(TarBuilder::Compression::kGzip)
          .Dir("etc")
          .File("etc/a", "a1")
          .File("etc/gone", "g")
          .Dir("data")
          .File("data/big", big(1))
          .Finish(),
      TarBuilder(TarBuilder::Compression::kZstd)
          .File("etc/a", "a2", {.mode = 0600})
          .File("data/big2", big(2))
          .Symlink("link", "etc/a")
          .Finish(),
      TarBuilder(TarBuilder::Compression::kGzip)
          .File("etc/.wh.gone", "")
          .File("data/big", big(3))
          .Hardlink("data/h", "data/big2")
          .Finish(),
      TarBuilder().File("last", "plain tar").Finish(),
  };
  std::vector<Digest> digests;
  for (const std::string& l : layers) {
    ASSERT_TRUE(::berth::content::local::WriteBlob(*t_->store, "default", l).ok());
    digests.push_back(Sha256Of(l));
  }
  const std::string via_rpc = t_->root + "/rpc", direct = t_->root + "/direct";
  ASSERT_EQ(mkdir(via_rpc.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(direct.c_str(), 0755), 0);
  for (size_t i = 0; i < layers.size(); ++i) {
    pb::ApplyRequest req;
    req.mutable_diff()->set_digest(digests[i].ToString());
    auto* m = req.add_mounts();
    m->set_type("bind");
    m->set_source(via_rpc);
    m->add_options("rbind");
    if (i + 1 < layers.size()) req.add_prefetch()->set_digest(digests[i + 1].ToString());
    grpc::ClientContext ctx;
    pb::ApplyResponse resp;
    grpc::Status st = stub_->Apply(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();

    size_t pos = 0;
    const std::string& blob = layers[i];
    absl::StatusOr<::berth::snapshotter::ApplyResult> r = ::berth::snapshotter::ApplyLayer(
        [&](char* buf, size_t n) -> absl::StatusOr<size_t> {
          size_t k = std::min(n, blob.size() - pos);
          memcpy(buf, blob.data() + pos, k);
          pos += k;
          return k;
        },
        direct, {});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(resp.applied().digest(), r->diff_id) << "layer " << i;
    EXPECT_EQ(resp.applied().size(), r->size);
  }
  EXPECT_EQ(service_->prefetcher().prefetched_taken(), 3);
  auto tree = [](const std::string& dir) {
    std::string out;
    FILE* p = ::popen(("cd " + dir +
                       " && find . -printf '%p %y %m %s %l %n %T@\\n' | sort && find . -type f "
                       "-print0 | sort -z | xargs -0 sha256sum")
                          .c_str(),
                      "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    EXPECT_EQ(::pclose(p), 0);
    return out;
  };
  const std::string want = tree(direct);
  EXPECT_NE(want.find("./data/h f 644 307200  2"), std::string::npos) << want;
  EXPECT_EQ(want.find("gone"), std::string::npos) << want;
  EXPECT_EQ(tree(via_rpc), want);

  // A layer the namespace does not have is still a clear NOT_FOUND.
  pb::ApplyRequest req;
  req.mutable_diff()->set_digest(Sha256Of("nothing").ToString());
  auto* m = req.add_mounts();
  m->set_type("bind");
  m->set_source(via_rpc);
  grpc::ClientContext ctx;
  pb::ApplyResponse resp;
  grpc::Status st = stub_->Apply(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
}

TEST_F(DiffServiceTest, UnknownLeaseIsRefused) {
  pb::DiffResponse r;
  grpc::Status st = Diff("nope", &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
}

}  // namespace
}  // namespace berth::services
