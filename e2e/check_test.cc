// berth system check: each kind of leftover a crash or a fault can leave is reported with the
// object it concerns, --fix repairs the safe ones (and only those), and a restarted berthd
// removes by itself the snapshots of an interrupted unpack. Needs root.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "berth/services/content/v1/content.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "e2e/reliability.h"

namespace berth::e2e {
namespace {

namespace cpb = berth::services::content::v1;
namespace spb = berth::services::snapshots::v1;

std::set<std::string> Blobs(const std::string& root) {
  std::set<std::string> out;
  const std::string dir = root + "/content/blobs/sha256";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') out.insert(dir + "/" + e->d_name);
    }
    closedir(d);
  }
  return out;
}

off_t Size(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// The lines of a check's output that mention `what`.
bool Reports(const CommandResult& r, const std::string& what, bool fixed = false) {
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    if (absl::StrContains(line, what) && absl::EndsWith(line, "[fixed]") == fixed) return true;
  }
  return false;
}

class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    d_ = std::make_unique<CliDaemon>("check");
    ASSERT_TRUE(d_->started()) << d_->Stderr();
    ASSERT_TRUE(d_->LoadBusybox());
  }

  grpc::Status Prepare(const std::string& key) {
    spb::PrepareSnapshotRequest req;
    req.set_key(key);
    spb::PrepareSnapshotResponse resp;
    return spb::Snapshots::NewStub(d_->Channel())
        ->Prepare(TestDaemon::Context(d_->ns()).get(), req, &resp);
  }
  grpc::Status Remove(const std::string& key) {
    spb::RemoveSnapshotRequest req;
    req.set_key(key);
    google::protobuf::Empty e;
    return spb::Snapshots::NewStub(d_->Channel())
        ->Remove(TestDaemon::Context(d_->ns()).get(), req, &e);
  }
  bool SnapshotExists(const std::string& key) {
    spb::StatSnapshotRequest req;
    req.set_key(key);
    spb::StatSnapshotResponse resp;
    return spb::Snapshots::NewStub(d_->Channel())
        ->Stat(TestDaemon::Context(d_->ns()).get(), req, &resp)
        .ok();
  }
  // Writes some bytes of a blob and walks away.
  void AbandonIngest(const std::string& ref) {
    auto ctx = TestDaemon::Context(d_->ns());
    auto stream = cpb::Content::NewStub(d_->Channel())->Write(ctx.get());
    cpb::WriteContentRequest req;
    req.set_action(cpb::WRITE);
    req.set_ref(ref);
    req.set_data("half a blob");
    ASSERT_TRUE(stream->Write(req));
    cpb::WriteContentResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    stream->WritesDone();
    stream->Finish();
  }

  std::unique_ptr<CliDaemon> d_;
};

TEST_F(CheckTest, ReportsLeftoversFixesTheSafeOnesAndRepairsUnpacksAtStart) {
  CommandResult r = d_->Berth({"run", "-d", "--name", "keep", "busybox", "sleep", "100000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = d_->Berth({"system", "check"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "1 containers")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "nothing dangles")) << r.out;

  const std::string state = d_->state(), root = d_->root();
  // The cgroup of a container that is gone.
  const std::string cgroup =
      absl::StrCat(Cgroup2Mount(), "/berth/", d_->ns(), "/", std::string(64, 'e'));
  ASSERT_EQ(mkdir(cgroup.c_str(), 0755), 0);
  // An unpack interrupted by the crash, a snapshot some client made, a half-written blob.
  ASSERT_TRUE(Prepare("extract-7 sha256:" + std::string(64, '1')).ok());
  ASSERT_TRUE(Prepare("made-by-hand").ok());
  AbandonIngest("walked-away");
  // A container whose snapshot is gone, and an image missing a layer.
  r = d_->Berth({"create", "--name", "nosnap", "busybox", "true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string nosnap(absl::StripAsciiWhitespace(r.out));
  ASSERT_TRUE(Remove(nosnap).ok());
  const std::set<std::string> before = Blobs(root);
  ASSERT_EQ(d_->Berth({"load", "-q", "-i", d_->MakeBlobImage("broken", 1)}).exit_code, 0);
  std::string layer;
  for (const std::string& b : Blobs(root)) {
    if (before.count(b) == 0 && Size(b) > Size(layer)) layer = b;
  }
  ASSERT_FALSE(layer.empty());
  ASSERT_EQ(unlink(layer.c_str()), 0);

  // The crash.
  d_->Stop(SIGKILL);
  ASSERT_TRUE(d_->Start()) << d_->Stderr();
  // A CLI create that prepared its snapshot after the restart and is still going.
  const std::string in_flight(64, 'f');
  ASSERT_TRUE(Prepare(in_flight).ok());
  // A create interrupted after mounting the rootfs, before task.json, that berthd could not
  // clean up when it started (those it can, it does).
  const std::string ghost = absl::StrCat(state, "/tasks/", d_->ns(), "/ghost");
  ASSERT_EQ(RunCommand({"/bin/mkdir", "-p", ghost + "/rootfs"}).exit_code, 0);
  ASSERT_EQ(mount("tmpfs", (ghost + "/rootfs").c_str(), "tmpfs", 0, "size=1m"), 0);
  ASSERT_EQ(RunCommand({"/usr/bin/touch", "-d", "1 hour ago", ghost}).exit_code, 0);

  r = d_->Berth({"system", "check"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(Reports(r, "mounts: " + ghost + "/rootfs: tmpfs mount")) << r.out;
  EXPECT_TRUE(Reports(r, "tasks: " + ghost)) << r.out;
  EXPECT_TRUE(Reports(r, "cgroups: " + cgroup)) << r.out;
  EXPECT_TRUE(Reports(r, "ingests: walked-away")) << r.out;
  EXPECT_TRUE(Reports(r, "snapshots: made-by-hand")) << r.out;
  EXPECT_TRUE(Reports(r, "snapshots: " + nosnap)) << r.out;
  EXPECT_TRUE(Reports(r, "content: docker.io/library/broken:latest")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "is missing")) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "extract-7")) << "removed at start: " << r.out;
  EXPECT_FALSE(SnapshotExists("extract-7 sha256:" + std::string(64, '1')));
  EXPECT_FALSE(absl::StrContains(r.out, in_flight)) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "keep")) << r.out;

  r = d_->Berth({"system", "check", "--fix"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(Reports(r, "mounts: " + ghost + "/rootfs", true)) << r.out;
  EXPECT_TRUE(Reports(r, "tasks: " + ghost, true)) << r.out;
  EXPECT_TRUE(Reports(r, "cgroups: " + cgroup, true)) << r.out;
  EXPECT_TRUE(Reports(r, "ingests: walked-away", true)) << r.out;
  EXPECT_TRUE(Reports(r, "snapshots: made-by-hand", false)) << r.out;
  EXPECT_TRUE(MountsUnder(ghost).empty());
  EXPECT_NE(access(ghost.c_str(), F_OK), 0);
  EXPECT_NE(access(cgroup.c_str(), F_OK), 0);

  r = d_->Berth({"system", "check"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "ghost")) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "walked-away")) << r.out;
  EXPECT_TRUE(Reports(r, "snapshots: made-by-hand")) << r.out;

  // Put right by hand what --fix leaves to a person; the healthy container was never touched.
  EXPECT_EQ(d_->Berth({"rm", nosnap}).exit_code, 0);
  EXPECT_EQ(d_->Berth({"rmi", "broken"}).exit_code, 0);
  EXPECT_TRUE(Remove("made-by-hand").ok());
  EXPECT_TRUE(Remove(in_flight).ok());
  r = d_->Berth({"system", "check"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = d_->Berth({"exec", "keep", "echo", "untouched"});
  EXPECT_EQ(r.out, "untouched\n") << r.err;
}

}  // namespace
}  // namespace berth::e2e
