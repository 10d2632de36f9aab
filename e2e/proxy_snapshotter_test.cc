// A proxy snapshotter end to end: berth-snapshotter serves overlayfs on its own socket, berthd
// names it under proxy_snapshotters:, the busybox fixture is loaded and unpacked into it, and a
// rootfs prepared on top mounts and shows /bin/busybox. Mounts are undone in teardown.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "berth/services/images/v1/images.grpc.pb.h"
#include "berth/services/introspection/v1/introspection.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "e2e/harness/process.h"
#include "snapshotter/mount/mount.h"

namespace berth::e2e {
namespace {

namespace ipb = berth::services::images::v1;
namespace spb = berth::services::snapshots::v1;
namespace intro = berth::services::introspection::v1;

const std::string kBerthd = Runfile("services/daemon/berthd");
const std::string kBerth = Runfile("ctl/berth");
const std::string kPlugin = Runfile("services/snapshots/standalone/berth-snapshotter");
const std::string kMakeImage = Runfile("e2e/fixtures/make_oci_image.py");

class ProxySnapshotterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plugin_ = std::make_unique<Child>(
        std::vector<std::string>{kPlugin, "--type", "overlayfs", "--root", tmp_.path() + "/ext",
                                 "--address", "unix://" + plugin_sock_});
    ASSERT_TRUE(WaitForListener(plugin_sock_, *plugin_)) << plugin_->Stderr();
    const std::string config = tmp_.path() + "/config.yaml";
    std::ofstream(config) << "proxy_snapshotters:\n  ext:\n    address: unix://" << plugin_sock_
                          << "\n";
    daemon_ = std::make_unique<Child>(std::vector<std::string>{kBerthd, "--config", config,
                                                               "--root", tmp_.path() + "/root",
                                                               "--state", tmp_.path() + "/state"});
    ASSERT_TRUE(WaitForListener(sock_, *daemon_)) << daemon_->Stderr();
    channel_ = grpc::CreateChannel("unix:" + sock_, grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) {
      EXPECT_TRUE(snapshotter::Unmount(*it, /*detach=*/true).ok()) << *it;
    }
    if (daemon_ != nullptr && daemon_->Running()) {
      EXPECT_EQ(daemon_->Stop(SIGTERM), 0) << daemon_->Stderr();
    }
    if (plugin_ != nullptr && plugin_->Running()) {
      EXPECT_EQ(plugin_->Stop(SIGTERM), 0) << plugin_->Stderr();
    }
  }

  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("berth-namespace", "default");
    return ctx;
  }

  intro::Plugin ExtPlugin() {
    auto stub = intro::Introspection::NewStub(channel_);
    intro::PluginsRequest req;
    req.add_filters("type==berth.snapshotter.v1,id==ext");
    intro::PluginsResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = stub->Plugins(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.plugins_size(), 1) << resp.DebugString();
    return resp.plugins_size() == 1 ? resp.plugins(0) : intro::Plugin();
  }

  ShortTempDir tmp_{"berth-proxy"};
  std::string plugin_sock_ = tmp_.path() + "/ext.sock";
  std::string sock_ = tmp_.path() + "/state/berthd.sock";
  std::unique_ptr<Child> plugin_;
  std::unique_ptr<Child> daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::vector<std::string> mounted_;
};

TEST_F(ProxySnapshotterTest, UnpacksAndMountsThroughThePlugin) {
  intro::Plugin p = ExtPlugin();
  EXPECT_EQ(p.status(), intro::PLUGIN_STATUS_REMOTE);
  EXPECT_EQ(p.exports().at("address"), "unix://" + plugin_sock_);
  EXPECT_EQ(p.exports().at("reachable"), "true");

  const std::string archive = tmp_.path() + "/busybox.tar";
  CommandResult r = RunCommand({"/usr/bin/python3", kMakeImage, archive, "busybox"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand({kBerth, "-H", "unix://" + sock_, "load", "--snapshotter", "ext", "-i", archive});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("unpacked 1/1 layers"), std::string::npos) << r.err;

  // The chain is in the plugin: asking to unpack again finds every layer there.
  auto images = ipb::Images::NewStub(channel_);
  ipb::UnpackImageRequest ureq;
  ureq.set_name("busybox");
  ureq.set_snapshotter("ext");
  ipb::UnpackImageResponse u;
  grpc::Status st = images->Unpack(Ctx().get(), ureq, &u);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(u.unpacked(), 0);
  EXPECT_EQ(u.layers(), 1);

  // The plugin itself holds it under berthd's namespace.
  auto direct = spb::Snapshots::NewStub(
      grpc::CreateChannel("unix:" + plugin_sock_, grpc::InsecureChannelCredentials()));
  spb::StatSnapshotRequest sreq;
  sreq.set_key("default/" + u.chain_id());
  spb::StatSnapshotResponse sresp;
  grpc::ClientContext dctx;
  st = direct->Stat(&dctx, sreq, &sresp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(sresp.info().kind(), spb::COMMITTED);
  EXPECT_TRUE(
      RunCommand({"/usr/bin/test", "-d", tmp_.path() + "/ext/snapshots/1/fs/bin"}).exit_code == 0);

  // A rootfs through berthd, mounted from the plugin's directories.
  auto snaps = spb::Snapshots::NewStub(channel_);
  spb::PrepareSnapshotRequest preq;
  preq.set_snapshotter("ext");
  preq.set_key("ctr");
  preq.set_parent(u.chain_id());
  spb::PrepareSnapshotResponse presp;
  st = snaps->Prepare(Ctx().get(), preq, &presp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  std::vector<snapshotter::Mount> mounts;
  for (const auto& m : presp.mounts()) {
    mounts.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
  }
  const std::string target = tmp_.path() + "/mnt";
  ASSERT_EQ(mkdir(target.c_str(), 0755), 0);
  absl::Status ms = snapshotter::MountAll(mounts, target);
  ASSERT_TRUE(ms.ok()) << ms;
  mounted_.push_back(target);
  struct stat sb;
  ASSERT_EQ(stat((target + "/bin/busybox").c_str(), &sb), 0);
  EXPECT_TRUE(sb.st_mode & S_IXUSR);

  // Errors come back with their codes across both hops.
  spb::RemoveSnapshotRequest rreq;
  rreq.set_snapshotter("ext");
  rreq.set_key(u.chain_id());
  google::protobuf::Empty e;
  st = snaps->Remove(Ctx().get(), rreq, &e);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_EQ(st.error_message().find("default/"), std::string::npos) << st.error_message();

  // With the plugin gone, introspection says so and calls fail as UNAVAILABLE.
  ASSERT_EQ(plugin_->Stop(SIGTERM), 0) << plugin_->Stderr();
  EXPECT_EQ(ExtPlugin().exports().at("reachable"), "false");
  spb::StatSnapshotRequest sreq2;
  sreq2.set_snapshotter("ext");
  sreq2.set_key(u.chain_id());
  grpc::ClientContext sctx2;
  sctx2.AddMetadata("berth-namespace", "default");
  st = snaps->Stat(&sctx2, sreq2, &sresp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_NE(st.error_message().find("proxy snapshotter ext"), std::string::npos)
      << st.error_message();
}

}  // namespace
}  // namespace berth::e2e
