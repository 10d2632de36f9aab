// Snapshots, diff and unpack end to end: the real berthd loads the busybox fixture, unpacks it
// into the overlayfs and native snapshotters, and a rootfs prepared on top mounts and shows
// /bin/busybox. Every mount is undone in teardown, even when a check fails.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "berth/services/diff/v1/diff.grpc.pb.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "berth/services/introspection/v1/introspection.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "e2e/harness/process.h"
#include "snapshotter/mount/mount.h"

namespace berth::e2e {
namespace {

namespace dpb = berth::services::diff::v1;
namespace ipb = berth::services::images::v1;
namespace spb = berth::services::snapshots::v1;

const std::string kBerthd = Runfile("services/daemon/berthd");
const std::string kBerth = Runfile("ctl/berth");
const std::string kMakeImage = Runfile("e2e/fixtures/make_oci_image.py");

class SnapshotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    child_ = std::make_unique<Child>(
        std::vector<std::string>{kBerthd, "--root", root_, "--state", tmp_.path() + "/state"});
    ASSERT_TRUE(WaitForListener(sock_, *child_)) << child_->Stderr();
    channel_ = grpc::CreateChannel("unix:" + sock_, grpc::InsecureChannelCredentials());
    images_ = ipb::Images::NewStub(channel_);
    snaps_ = spb::Snapshots::NewStub(channel_);
    const std::string archive = tmp_.path() + "/busybox.tar";
    CommandResult r = RunCommand({"/usr/bin/python3", kMakeImage, archive, "busybox"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    archive_ = archive;
    // --no-unpack: the tests below unpack through the API and count what that did.
    r = RunCommand({kBerth, "-H", "unix://" + sock_, "load", "--no-unpack", "-i", archive});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void TearDown() override {
    for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) {
      EXPECT_TRUE(snapshotter::Unmount(*it, /*detach=*/true).ok()) << *it;
    }
  }

  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& ns = "default") {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("berth-namespace", ns);
    return ctx;
  }

  ipb::UnpackImageResponse Unpack(const std::string& snapshotter,
                                  const std::string& name = "busybox") {
    ipb::UnpackImageRequest req;
    req.set_name(name);
    req.set_snapshotter(snapshotter);
    ipb::UnpackImageResponse resp;
    grpc::Status st = images_->Unpack(Ctx().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  // Prepares `key` on `parent` and mounts it; returns the mountpoint.
  std::string PrepareAndMount(const std::string& snapshotter, const std::string& key,
                              const std::string& parent) {
    spb::PrepareSnapshotRequest req;
    req.set_snapshotter(snapshotter);
    req.set_key(key);
    req.set_parent(parent);
    spb::PrepareSnapshotResponse resp;
    grpc::Status st = snaps_->Prepare(Ctx().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<snapshotter::Mount> mounts;
    for (const auto& m : resp.mounts()) {
      mounts.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
    }
    const std::string target = tmp_.path() + "/mnt-" + key;
    EXPECT_EQ(mkdir(target.c_str(), 0755), 0);
    absl::Status ms = snapshotter::MountAll(mounts, target);
    EXPECT_TRUE(ms.ok()) << ms;
    if (ms.ok()) mounted_.push_back(target);
    return target;
  }

  // Committed snapshot names in `ns` of `snapshotter` (empty: the default).
  std::vector<std::string> Committed(const std::string& ns, const std::string& snapshotter) {
    spb::ListSnapshotsRequest req;
    req.set_snapshotter(snapshotter);
    req.add_filters("kind==committed");
    auto ctx = Ctx(ns);
    auto reader = snaps_->List(ctx.get(), req);
    spb::ListSnapshotsResponse resp;
    std::vector<std::string> names;
    while (reader->Read(&resp)) {
      for (const auto& i : resp.info()) names.push_back(i.name());
    }
    grpc::Status st = reader->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return names;
  }

  ShortTempDir tmp_{"berth-snap"};
  std::string archive_;
  std::string root_ = tmp_.path() + "/root";
  std::string sock_ = tmp_.path() + "/state/berthd.sock";
  std::unique_ptr<Child> child_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ipb::Images::Stub> images_;
  std::unique_ptr<spb::Snapshots::Stub> snaps_;
  std::vector<std::string> mounted_;
};

TEST_F(SnapshotsTest, UnpackedBusyboxMountsWithOverlayfsAndNative) {
  for (const std::string sn : {"overlayfs", "native"}) {
    SCOPED_TRACE(sn);
    ipb::UnpackImageResponse u = Unpack(sn);
    EXPECT_EQ(u.layers(), 1);
    EXPECT_EQ(u.unpacked(), 1);
    EXPECT_EQ(u.chain_id().substr(0, 7), "sha256:");
    // Again: nothing to do.
    EXPECT_EQ(Unpack(sn).unpacked(), 0);

    spb::StatSnapshotRequest sreq;
    sreq.set_snapshotter(sn);
    sreq.set_key(u.chain_id());
    spb::StatSnapshotResponse sresp;
    ASSERT_TRUE(snaps_->Stat(Ctx().get(), sreq, &sresp).ok());
    EXPECT_EQ(sresp.info().kind(), spb::COMMITTED);
    EXPECT_EQ(sresp.info().labels().at("berth.io/snapshot/uncompressed"), u.chain_id());

    const std::string rootfs = PrepareAndMount(sn, "ctr-" + sn, u.chain_id());
    struct stat st;
    ASSERT_EQ(stat((rootfs + "/bin/busybox").c_str(), &st), 0);
    EXPECT_TRUE(st.st_mode & S_IXUSR);
    EXPECT_EQ(lstat((rootfs + "/bin/sh").c_str(), &st), 0);
    // The rootfs is writable and the layer below stays untouched.
    FILE* f = fopen((rootfs + "/tmp/hello").c_str(), "w");
    ASSERT_NE(f, nullptr);
    fclose(f);

    // A committed parent with a child cannot go.
    spb::RemoveSnapshotRequest rreq;
    rreq.set_snapshotter(sn);
    rreq.set_key(u.chain_id());
    google::protobuf::Empty e;
    grpc::Status st2 = snaps_->Remove(Ctx().get(), rreq, &e);
    EXPECT_EQ(st2.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st2.error_message();
  }
}

TEST_F(SnapshotsTest, NamespacesDoNotSeeEachOther) {
  ipb::UnpackImageResponse u = Unpack("");
  auto count = [&](const std::string& ns) {
    spb::ListSnapshotsRequest req;
    auto ctx = Ctx(ns);
    auto reader = snaps_->List(ctx.get(), req);
    spb::ListSnapshotsResponse resp;
    int n = 0;
    while (reader->Read(&resp)) n += resp.info_size();
    EXPECT_TRUE(reader->Finish().ok());
    return n;
  };
  EXPECT_EQ(count("default"), 1);
  EXPECT_EQ(count("other"), 0);
  spb::StatSnapshotRequest sreq;
  sreq.set_key(u.chain_id());
  spb::StatSnapshotResponse sresp;
  grpc::Status st = snaps_->Stat(Ctx("other").get(), sreq, &sresp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message().find("default/"), std::string::npos) << st.error_message();
  spb::ListSnapshotsRequest lreq;
  lreq.add_filters("kind==committed");
  auto ctx = Ctx();
  auto reader = snaps_->List(ctx.get(), lreq);
  spb::ListSnapshotsResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.info(0).name(), u.chain_id());
}

TEST_F(SnapshotsTest, LoadUnpacksByDefault) {
  const std::string chain = Unpack("native").chain_id();  // only to learn the chain ID
  auto load = [&](const std::string& ns, std::vector<std::string> flags) {
    std::vector<std::string> argv = {kBerth, "-H", "unix://" + sock_, "-n", ns, "load"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back("-i");
    argv.push_back(archive_);
    CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r;
  };
  CommandResult r = load("plain", {});
  EXPECT_NE(r.err.find("unpacked 1/1 layers"), std::string::npos) << r.err;
  EXPECT_EQ(Committed("plain", ""), std::vector<std::string>{chain});
  EXPECT_TRUE(Committed("plain", "native").empty());

  load("bare", {"--no-unpack"});
  EXPECT_TRUE(Committed("bare", "").empty());

  load("nat", {"--snapshotter", "native"});
  EXPECT_EQ(Committed("nat", "native"), std::vector<std::string>{chain});
  EXPECT_TRUE(Committed("nat", "").empty());

  // An unknown snapshotter is an error the user sees, not a silent skip.
  std::vector<std::string> argv = {kBerth, "-H",    "unix://" + sock_, "-n",
                                   "bad",  "load",  "--snapshotter",   "nosuch",
                                   "-i",   archive_};
  r = RunCommand(argv);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nosuch"), std::string::npos) << r.err;
}

TEST_F(SnapshotsTest, IntrospectionListsSnapshotters) {
  namespace intro = berth::services::introspection::v1;
  auto stub = intro::Introspection::NewStub(channel_);
  intro::PluginsRequest req;
  req.add_filters("type==berth.snapshotter.v1");
  intro::PluginsResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub->Plugins(&ctx, req, &resp).ok());
  std::map<std::string, intro::Plugin> by_id;
  for (const intro::Plugin& p : resp.plugins()) by_id[p.id()] = p;
  ASSERT_EQ(by_id.size(), 2u) << resp.DebugString();
  for (const std::string name : {"overlayfs", "native"}) {
    SCOPED_TRACE(name);
    const intro::Plugin& p = by_id[name];
    EXPECT_EQ(p.status(), intro::PLUGIN_STATUS_OK) << p.init_error().message();
    EXPECT_EQ(p.exports().at("root"), root_ + "/snapshots/" + name);
  }
  // Filters reach into the plugin list like into the services.
  req.set_filters(0, "type==berth.snapshotter.v1,id==native,status==ok");
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub->Plugins(&ctx2, req, &resp).ok());
  ASSERT_EQ(resp.plugins_size(), 1);
  EXPECT_EQ(resp.plugins(0).id(), "native");
}

// What a tree holds, for comparing two: every path with its type, mode, owner, size and link
// target, the mtimes of everything but directories, and the contents of regular files.
std::string Tree(const std::string& dir) {
  CommandResult r = RunCommand({"/bin/sh", "-c",
                                "cd '" + dir +
                                    "' && find . -printf '%p %y %m %U %G %s %l\\n' | sort && "
                                    "find . ! -type d -printf '%p %T@\\n' | sort && "
                                    "find . -type f -print0 | sort -z | xargs -0 sha256sum"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST_F(SnapshotsTest, DiffOfAChangedRootfsAppliesBackToTheSameTree) {
  auto dstub = dpb::Diff::NewStub(channel_);
  for (const std::string sn : {"overlayfs", "native"}) {
    SCOPED_TRACE(sn);
    const std::string parent = Unpack(sn).chain_id();
    const std::string rootfs = PrepareAndMount(sn, "changed-" + sn, parent);
    // Modify, add, delete, and make /etc opaque (removed and made again).
    ASSERT_EQ(chmod((rootfs + "/bin/busybox").c_str(), 0700), 0);
    ASSERT_EQ(unlink((rootfs + "/bin/ls").c_str()), 0);
    ASSERT_EQ(RunCommand({"/bin/sh", "-c",
                          "cd '" + rootfs +
                              "' && rm -rf etc && mkdir etc && echo 'root:x:0:0::/:/bin/sh' > "
                              "etc/passwd && echo only > etc/only && mkdir -p new/dir && echo "
                              "n > new/dir/f && ln -s ../etc/passwd new/l && ln new/dir/f new/h "
                              "&& rmdir root"})
                  .exit_code,
              0);

    spb::ViewSnapshotRequest vreq;
    vreq.set_snapshotter(sn);
    vreq.set_key("parent-view-" + sn);
    vreq.set_parent(parent);
    spb::ViewSnapshotResponse vresp;
    grpc::Status st = snaps_->View(Ctx().get(), vreq, &vresp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    spb::MountsRequest mreq;
    mreq.set_snapshotter(sn);
    mreq.set_key("changed-" + sn);
    spb::MountsResponse mresp;
    st = snaps_->Mounts(Ctx().get(), mreq, &mresp);
    ASSERT_TRUE(st.ok()) << st.error_message();

    dpb::DiffRequest dreq;
    *dreq.mutable_left() = vresp.mounts();
    *dreq.mutable_right() = mresp.mounts();
    dpb::DiffResponse dresp;
    st = dstub->Diff(Ctx().get(), dreq, &dresp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(dresp.diff().media_type(), "application/vnd.oci.image.layer.v1.tar+gzip");
    const std::string blob = root_ + "/content/blobs/sha256/" + dresp.diff().digest().substr(7);
    CommandResult list = RunCommand({"/bin/tar", "-tzf", blob});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_NE(list.out.find("bin/.wh.ls"), std::string::npos) << list.out;
    EXPECT_NE(list.out.find(".wh.root"), std::string::npos) << list.out;
    if (sn == "overlayfs") {
      EXPECT_NE(list.out.find("etc/.wh..wh..opq"), std::string::npos) << list.out;
    }
    EXPECT_EQ(list.out.find("bin/sh"), std::string::npos) << list.out;  // unchanged

    // Apply the layer on the parent in a fresh snapshot: the same tree.
    spb::PrepareSnapshotRequest preq;
    preq.set_snapshotter(sn);
    preq.set_key("applied-" + sn);
    preq.set_parent(parent);
    spb::PrepareSnapshotResponse presp;
    st = snaps_->Prepare(Ctx().get(), preq, &presp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    dpb::ApplyRequest areq;
    *areq.mutable_diff() = dresp.diff();
    *areq.mutable_mounts() = presp.mounts();
    dpb::ApplyResponse aresp;
    st = dstub->Apply(Ctx().get(), areq, &aresp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(aresp.applied().digest(), dresp.diff().annotations().at("berth.io/uncompressed"));

    std::vector<snapshotter::Mount> mounts;
    for (const auto& m : presp.mounts()) {
      mounts.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
    }
    const std::string again = tmp_.path() + "/mnt-applied-" + sn;
    ASSERT_EQ(mkdir(again.c_str(), 0755), 0);
    absl::Status ms = snapshotter::MountAll(mounts, again);
    ASSERT_TRUE(ms.ok()) << ms;
    mounted_.push_back(again);
    EXPECT_EQ(Tree(rootfs), Tree(again));
    struct stat sb;
    EXPECT_NE(lstat((again + "/etc/group").c_str(), &sb), 0);
    EXPECT_NE(lstat((again + "/bin/ls").c_str(), &sb), 0);
    EXPECT_EQ(lstat((again + "/bin/cat").c_str(), &sb), 0);
  }
}

// An image of 200 layers made by another tool: umoci writes gzip layers, one per repack, the
// 100th with a whiteout. berth load stores and unpacks it, and a rootfs on top mounts (its
// overlay options are longer than a page) and shows the first layer's file, the last one's,
// and not the file the 100th removed. umoci takes 5-12 s of the test (berth load ~1.5 s).
TEST_F(SnapshotsTest, TwoHundredLayerUmociImageLoadsUnpacksAndMounts) {
  if (access("/usr/bin/umoci", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/umoci";
  const std::string dir = tmp_.path() + "/umoci";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  // One unpacked bundle, changed and repacked 200 times (--refresh-bundle keeps its mtree
  // current, so each repack writes only that round's change). umoci insert would be faster,
  // but umoci 0.4.7's insert writes tars cut short (no padding, no end blocks).
  const std::string script = R"(set -e
cd ")" + dir + R"("
ref=img:example.com/many:200
umoci init --layout img
umoci new --image $ref
umoci unpack --image $ref b >/dev/null
mkdir b/rootfs/layers
i=1
while [ $i -le 200 ]; do
  echo "layer $i" > b/rootfs/layers/$i
  echo $i > b/rootfs/top
  if [ $i = 100 ]; then rm b/rootfs/layers/50; fi
  umoci repack --refresh-bundle --image $ref b >/dev/null
  i=$((i + 1))
done
umoci gc --layout img
tar -C img -cf img.tar oci-layout index.json blobs
rm -rf b img
)";
  const absl::Time start = absl::Now();
  CommandResult r = RunCommand({"/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const absl::Time made = absl::Now();
  r = RunCommand({kBerth, "-H", "unix://" + sock_, "load", "-i", dir + "/img.tar"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("unpacked 200/200 layers"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("Loaded image: example.com/many:200"), std::string::npos) << r.out;
  const absl::Time loaded = absl::Now();
  std::cerr << "umoci: 200 layers in " << (made - start)
            << "; berth load with unpack: " << (loaded - made) << "\n";

  ipb::UnpackImageResponse u = Unpack("", "example.com/many:200");
  EXPECT_EQ(u.layers(), 200);
  EXPECT_EQ(u.unpacked(), 0);  // the load did it
  const std::string rootfs = PrepareAndMount("", "many-rootfs", u.chain_id());
  ASSERT_FALSE(rootfs.empty());
  auto read = [](const std::string& path) {
    CommandResult c = RunCommand({"/bin/cat", path});
    return c.exit_code == 0 ? c.out : "(missing: " + c.err + ")";
  };
  EXPECT_EQ(read(rootfs + "/layers/1"), "layer 1\n");
  EXPECT_EQ(read(rootfs + "/layers/49"), "layer 49\n");
  EXPECT_EQ(read(rootfs + "/layers/200"), "layer 200\n");
  EXPECT_EQ(read(rootfs + "/top"), "200\n");
  struct stat st;
  EXPECT_NE(lstat((rootfs + "/layers/50").c_str(), &st), 0) << "whited out in layer 100";
  CommandResult ls = RunCommand({"/bin/sh", "-c", "ls '" + rootfs + "/layers' | wc -l"});
  EXPECT_EQ(ls.out, "199\n");
}

}  // namespace
}  // namespace berth::e2e
