// The proxy client against the server berth-snapshotter runs (SnapshotsService with unscoped
// keys over a native snapshotter), in process: every call of the interface makes the round trip
// and comes back with the same meaning, codes included.
#include "services/snapshots/standalone/standalone.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>

#include "services/snapshots/snapshots_service.h"
#include "snapshotter/proxy/proxy.h"

namespace berth::snapshots_standalone {
namespace {

namespace sn = ::berth::snapshotter;

class ProxyRoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-proxy-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto native = OpenBuiltin("native", dir_ + "/native");
    ASSERT_TRUE(native.ok()) << native.status();
    service_ = std::make_unique<services::SnapshotsService>(
        services::SnapshotsService::SnapshotterMap{{"native", *native}}, "native",
        /*scope_keys=*/false);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    proxy_ = std::make_unique<sn::ProxySnapshotter>(
        "ext", server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    (void)system(("rm -rf " + dir_).c_str());
  }

  std::string dir_;
  std::unique_ptr<services::SnapshotsService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<sn::ProxySnapshotter> proxy_;
};

TEST_F(ProxyRoundTrip, EveryCallKeepsItsMeaning) {
  auto m = proxy_->Prepare("ns/a", "", {{"l", "1"}});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].type, "bind");
  EXPECT_EQ((*m)[0].source.rfind(dir_ + "/native/", 0), 0u) << (*m)[0].source;
  auto again = proxy_->Mounts("ns/a");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].source, (*m)[0].source);
  EXPECT_EQ((*again)[0].options, (*m)[0].options);

  ASSERT_TRUE(proxy_->Commit("ns/A", "ns/a", {{"c", "2"}}).ok());
  auto info = proxy_->Stat("ns/A");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name, "ns/A");  // unscoped: berthd's namespace survives the trip
  EXPECT_EQ(info->kind, sn::Kind::kCommitted);
  EXPECT_EQ(info->labels.at("c"), "2");
  EXPECT_GT(info->created, absl::UnixEpoch());

  sn::Info upd{.name = "ns/A", .labels = {{"x", "y"}}};
  auto updated = proxy_->Update(upd, {"labels.x"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->labels.at("x"), "y");
  EXPECT_EQ(updated->labels.at("c"), "2");

  ASSERT_TRUE(proxy_->View("ns/v", "ns/A", {}).ok());
  ASSERT_TRUE(proxy_->Prepare("ns/b", "ns/A", {}).ok());
  EXPECT_TRUE(proxy_->GetUsage("ns/A").ok());

  std::vector<std::string> names;
  ASSERT_TRUE(proxy_
                  ->Walk(
                      [&](const sn::Info& i) {
                        names.push_back(i.name);
                        return absl::OkStatus();
                      },
                      {"parent==ns/A"})
                  .ok());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"ns/b", "ns/v"}));
  // An error from the callback stops the walk and is what Walk returns.
  int seen = 0;
  absl::Status stop = proxy_->Walk(
      [&](const sn::Info&) {
        ++seen;
        return absl::AbortedError("enough");
      },
      {});
  EXPECT_EQ(stop.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(seen, 1);

  // Codes come back as the interface documents them, named after the plugin and the call.
  absl::Status st = proxy_->Remove("ns/A");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_NE(st.message().find("proxy snapshotter ext: Remove"), absl::string_view::npos) << st;
  EXPECT_EQ(proxy_->Stat("ns/nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(proxy_->Prepare("ns/b", "", {}).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(proxy_->Mounts("ns/A").status().code(), absl::StatusCode::kFailedPrecondition);

  ASSERT_TRUE(proxy_->Remove("ns/b").ok());
  ASSERT_TRUE(proxy_->Remove("ns/v").ok());
  EXPECT_TRUE(proxy_->Remove("ns/A").ok());
  EXPECT_TRUE(proxy_->Cleanup().ok());
}

TEST(OpenBuiltin, UnknownTypeIsNamed) {
  auto s = OpenBuiltin("zfs", "/tmp/x");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("\"zfs\""), absl::string_view::npos);
}

}  // namespace
}  // namespace berth::snapshots_standalone
