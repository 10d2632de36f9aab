// Volumes through the real CLI against a real berthd: named volumes that outlive containers
// (the seed's scenario), binds (ro enforced), anonymous volumes and the image's VOLUMEs, the
// copy-up of image content into a new volume, removal refused while in use, prune,
// --volumes-from, --mount's forms, tmpfs volumes, namespaces, and Docker's errors with exit
// code 125 for run. Needs root.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/volumes/v1/volumes.grpc.pb.h"
#include "e2e/harness/daemon.h"
#include "e2e/harness/engine.h"
#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

namespace cpb = berth::services::containers::v1;
namespace vpb = berth::services::volumes::v1;

const std::string kMakeVolumeImage = Runfile("e2e/fixtures/make_volume_image.py");

class VolumesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Engine>(EngineOptions{.prefix = "berth-vol"});
    ASSERT_TRUE(daemon_->started()) << daemon_->Stderr();
    CommandResult r = daemon_->LoadImage("busybox");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string volimg = daemon_->Archive("volimg");
    r = RunCommand({"/usr/bin/python3", kMakeVolumeImage, volimg, "volimg"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = daemon_->Load(volimg);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void TearDown() override {
    for (const std::string& id : ids_) daemon_->ForceRemove(id);
    // Every volume goes, so that no tmpfs stays mounted under the daemon's root.
    for (const char* ns : {"default", "other"}) {
      auto stub = vpb::Volumes::NewStub(daemon_->Channel());
      vpb::ListVolumesResponse list;
      stub->List(TestDaemon::Context(ns).get(), {}, &list);
      for (const vpb::Volume& v : list.volumes()) {
        vpb::RemoveVolumeRequest rm;
        rm.set_name(v.name());
        rm.set_force(true);
        google::protobuf::Empty e;
        stub->Remove(TestDaemon::Context(ns).get(), rm, &e);
      }
    }
  }

  CommandResult Berth(std::vector<std::string> args) { return daemon_->Berth(std::move(args)); }

  // `run -d`: the container's id, remembered for TearDown.
  std::string RunDetached(std::vector<std::string> args) {
    args.insert(args.begin(), {"run", "-d"});
    CommandResult r = Berth(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string id(absl::StripAsciiWhitespace(r.out));
    ids_.push_back(id);
    return id;
  }

  std::set<std::string> VolumeNames(const std::string& ns = "default") {
    CommandResult r = Berth({"-n", ns, "volume", "ls", "-q"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> out;
    for (absl::string_view l : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) out.emplace(l);
    return out;
  }

  // Polls (the daemon removes an auto-removed container's volumes just after the record).
  bool AwaitVolumes(const std::set<std::string>& want) {
    for (int i = 0; i < 100; ++i) {
      if (VolumeNames() == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  static void ExpectOneLineError(const CommandResult& r, int code, const std::string& text) {
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, text)) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }

  std::unique_ptr<Engine> daemon_;
  std::vector<std::string> ids_;
};

TEST_F(VolumesTest, NamedVolumeOutlivesItsContainer) {
  CommandResult r = Berth({"run", "--rm", "-v", "my-volume:/app/data", "busybox", "sh", "-c",
                           "echo kept > /app/data/file"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(VolumeNames(), std::set<std::string>{"my-volume"});  // --rm keeps named volumes
  r = Berth({"run", "--rm", "-v", "my-volume:/app/data", "busybox", "cat", "/app/data/file"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "kept\n");

  r = Berth({"volume", "inspect", "my-volume"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string data = daemon_->root() + "/volumes/default/my-volume/_data";
  EXPECT_TRUE(absl::StrContains(r.out, "\"Mountpoint\": \"" + data + "\"")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\"Driver\": \"local\"")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\"Scope\": \"local\"")) << r.out;
  std::ifstream file(data + "/file");
  std::string line;
  std::getline(file, line);
  EXPECT_EQ(line, "kept");

  r = Berth({"volume", "ls"});
  EXPECT_EQ(r.out, "DRIVER    VOLUME NAME\nlocal     my-volume\n");
  r = Berth({"volume", "rm", "my-volume"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "my-volume\n");
  EXPECT_FALSE(std::ifstream(data + "/file").good());
  ExpectOneLineError(Berth({"volume", "inspect", "my-volume"}), 1, "No such volume: my-volume");
}

TEST_F(VolumesTest, BindMountsAndReadOnly) {
  const std::string host = daemon_->dir() + "/host";
  mkdir(host.c_str(), 0755);
  std::ofstream(host + "/in") << "from the host\n";
  CommandResult r = Berth(
      {"run", "--rm", "-v", host + ":/h:ro", "busybox", "sh", "-c", "cat /h/in; touch /h/new"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "from the host\n");
  EXPECT_TRUE(absl::StrContains(r.err, "Read-only file system")) << r.err;
  r = Berth({"run", "--rm", "-v", host + ":/h", "busybox", "sh", "-c", "echo back > /h/out"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string line;
  std::getline(std::ifstream(host + "/out"), line);
  EXPECT_EQ(line, "back");
  EXPECT_TRUE(VolumeNames().empty());  // binds make no volumes
  ExpectOneLineError(Berth({"run", "--rm", "-v", "/no/such/dir:/x", "busybox", "true"}), 125,
                     "bind source path does not exist: /no/such/dir");
}

TEST_F(VolumesTest, AnonymousVolumesAndImageVolumes) {
  // The image declares VOLUME /var/lib/store: an anonymous volume, filled from the image.
  const std::set<std::string> before = VolumeNames();
  CommandResult r = Berth({"run", "--rm", "-v", "/scratch", "volimg", "sh", "-c",
                           "cat /var/lib/store/hello; grep -c ' /scratch ' /proc/mounts"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello from the image\n1\n");
  // --rm takes its anonymous volumes along.
  EXPECT_TRUE(AwaitVolumes(before));

  const std::string id = RunDetached({"-v", "/scratch", "volimg", "sleep", "1000"});
  std::map<std::string, std::string> labels = daemon_->Labels(id);
  std::vector<std::string> anon = absl::StrSplit(labels["berth.io/anonymous-volumes"], ',');
  ASSERT_EQ(anon.size(), 2u) << labels["berth.io/anonymous-volumes"];
  for (const std::string& n : anon) {
    EXPECT_EQ(n.size(), 64u) << n;
    EXPECT_TRUE(VolumeNames().count(n) > 0) << n;
  }
  EXPECT_EQ(labels["berth.io/volumes"], labels["berth.io/anonymous-volumes"]);
  // A mount on the VOLUME's path replaces the anonymous volume.
  r = Berth({"run", "--rm", "-v", "store:/var/lib/store", "volimg", "cat", "/var/lib/store/hello"});
  EXPECT_EQ(r.out, "hello from the image\n");
  EXPECT_TRUE(VolumeNames().count("store") > 0);
}

TEST_F(VolumesTest, CopyUpFillsOnlyANewVolume) {
  CommandResult r = Berth({"run", "--rm", "-v", "fresh:/app/data", "volimg", "sh", "-c",
                           "cat /app/data/seed.txt; stat -c '%u:%g %a' /app/data "
                           "/app/data/seed.txt; readlink /app/data/link"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "seeded by the image\n1000:1000 750\n1000:1000 640\nseed.txt\n");
  // The volume is the user's now: what they change stays, nothing is copied again.
  r = Berth({"run", "--rm", "-v", "fresh:/app/data", "volimg", "sh", "-c",
             "rm /app/data/seed.txt; echo mine > /app/data/mine"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Berth({"run", "--rm", "-v", "fresh:/app/data", "volimg", "ls", "/app/data"});
  EXPECT_EQ(r.out, "link\nmine\n");
  // nocopy, and a path the image does not have, start empty.
  r = Berth({"run", "--rm", "-v", "nc:/app/data:nocopy", "-v", "none:/not/there", "volimg", "sh",
             "-c", "ls -A /app/data /not/there"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "/app/data:\n\n/not/there:\n");
}

TEST_F(VolumesTest, CreateThenStartCopiesUpWhenTheTaskIsMade) {
  CommandResult r = Berth(
      {"create", "--name", "later", "-v", "late:/app/data", "volimg", "cat", "/app/data/seed.txt"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ids_.push_back(std::string(absl::StripAsciiWhitespace(r.out)));
  // Made, not yet filled: that happens once the rootfs is mounted for the task.
  EXPECT_EQ(Berth({"run", "--rm", "-v", "late:/v", "busybox", "ls", "-A", "/v"}).out, "");
  r = Berth({"start", "-a", "later"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "seeded by the image\n");
}

TEST_F(VolumesTest, RemovingAVolumeInUseIsRefused) {
  const std::string id = RunDetached({"-v", "busy:/data", "busybox", "sleep", "1000"});
  CommandResult r = Berth({"volume", "rm", "busy"});
  ExpectOneLineError(r, 1, "remove busy: volume is in use - [" + id + "]");
  r = Berth({"volume", "ls", "--filter", "dangling=false", "--format", "{{.Name}} {{.Links}}"});
  EXPECT_EQ(r.out, "busy 1\n");
  r = Berth({"volume", "prune", "-f", "-a"});
  EXPECT_EQ(r.out, "Total reclaimed space: 0B\n");
  daemon_->ForceRemove(id);
  r = Berth({"volume", "rm", "busy"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "busy\n");
  r = Berth({"volume", "rm", "-f", "busy"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(VolumesTest, PruneTakesAnonymousVolumesUnlessAll) {
  ASSERT_EQ(Berth({"volume", "create", "keep"}).exit_code, 0);
  CommandResult r = Berth({"volume", "create", "--label", "env=test"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string anon(absl::StripAsciiWhitespace(r.out));
  EXPECT_EQ(anon.size(), 64u);
  r = Berth({"run", "--rm", "-v", anon + ":/a", "busybox", "sh", "-c",
             "head -c 100000 /dev/zero > /a/zeros"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Berth({"volume", "ls", "--filter", "label=env=test", "-q"});
  EXPECT_EQ(r.out, anon + "\n");
  // "ke": a part of "keep" that no anonymous volume's name (64 hex digits) can contain.
  r = Berth({"volume", "ls", "--filter", "name=ke", "--format", "{{.Name}}:{{.Driver}}"});
  EXPECT_EQ(r.out, "keep:local\n");

  r = Berth({"volume", "prune", "-f"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "Deleted Volumes:\n" + anon + "\n\nTotal reclaimed space: "))
      << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "kB\n")) << r.out;  // 100 kB of zeros, in blocks
  EXPECT_EQ(VolumeNames(), std::set<std::string>{"keep"});
  r = Berth({"volume", "prune", "-f", "--all"});
  EXPECT_TRUE(absl::StartsWith(r.out, "Deleted Volumes:\nkeep\n")) << r.out;
  EXPECT_TRUE(VolumeNames().empty());
}

TEST_F(VolumesTest, VolumesFrom) {
  const std::string src = RunDetached(
      {"--name", "src", "-v", "shared:/shared", "-v", "/anon", "busybox", "sleep", "1000"});
  CommandResult r = Berth({"run", "--rm", "--volumes-from", "src", "busybox", "sh", "-c",
                           "echo hi > /shared/f && echo there > /anon/g && grep -c ' /anon ' "
                           "/proc/mounts"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  r = Berth({"run", "--rm", "--volumes-from", "src:ro", "busybox", "sh", "-c",
             "cat /shared/f /anon/g; touch /shared/x"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "hi\nthere\n");
  EXPECT_TRUE(absl::StrContains(r.err, "Read-only file system")) << r.err;
  // The source's anonymous volume belongs to it: the --rm container above left it.
  std::vector<std::string> anon =
      absl::StrSplit(daemon_->Labels(src)["berth.io/anonymous-volumes"], ',');
  ASSERT_EQ(anon.size(), 1u);
  EXPECT_TRUE(VolumeNames().count(anon[0]) > 0);
  ExpectOneLineError(Berth({"run", "--rm", "--volumes-from", "nosuch", "busybox", "true"}), 125,
                     "No such container: nosuch");
}

TEST_F(VolumesTest, MountFlagForms) {
  const std::string host = daemon_->dir() + "/mhost";
  mkdir(host.c_str(), 0755);
  std::ofstream(host + "/in") << "bound\n";
  CommandResult r =
      Berth({"run", "--rm", "--mount", "type=volume,src=mv,dst=/m", "--mount",
             "type=bind,source=" + host + ",target=/b,readonly", "--mount",
             "type=tmpfs,destination=/t,tmpfs-size=1m", "--mount",
             "type=volume,source=tv,target=/tv,volume-opt=type=tmpfs,volume-opt=device=tmpfs,"
             "volume-opt=o=size=2m",
             "busybox", "sh", "-c",
             "echo v > /m/f; cat /b/in; touch /b/x 2>/dev/null || echo ro; "
             "grep ' /t ' /proc/mounts | grep -o 'size=[0-9a-z]*'; "
             "grep ' /tv ' /proc/mounts | cut -d' ' -f3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "bound\nro\nsize=1024k\ntmpfs\n");
  r = Berth({"run", "--rm", "-v", "mv:/m", "busybox", "cat", "/m/f"});
  EXPECT_EQ(r.out, "v\n");
  r = Berth({"volume", "inspect", "--format", "{{.Options.type}} {{.Options.o}}", "tv"});
  EXPECT_EQ(r.out, "tmpfs size=2m\n");
  r = Berth({"volume", "rm", "tv"});  // unmounts its tmpfs
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ExpectOneLineError(
      Berth({"run", "--rm", "--mount", "type=volume,target=/x,color=red", "busybox", "true"}), 125,
      "unexpected key 'color' in 'color=red'");
  ExpectOneLineError(Berth({"run", "--rm", "--mount", "type=bind,target=/x", "busybox", "true"}),
                     125, "field Source must not be empty");
  ExpectOneLineError(Berth({"run", "--rm", "-v", "dd:/x", "--mount", "type=volume,src=ee,dst=/x",
                            "busybox", "true"}),
                     125, "Duplicate mount point: /x");
}

TEST_F(VolumesTest, ErrorsAreOneLine) {
  ExpectOneLineError(Berth({"run", "--rm", "-v", "a:b:c:d", "busybox", "true"}), 125,
                     "invalid spec: a:b:c:d");
  ExpectOneLineError(Berth({"run", "--rm", "-v", "v:/x:rx", "busybox", "true"}), 125,
                     "invalid mode: rx");
  ExpectOneLineError(Berth({"create", "-v", "./rel:/x", "busybox", "true"}), 125,
                     "If you intended to pass a host directory, use absolute path");
  ExpectOneLineError(Berth({"run", "--rm", "--mount", "type=volume,src=xx,dst=/x,volume-driver=nfs",
                            "busybox", "true"}),
                     125, "volume driver \"nfs\" is not available");
  // Bad requests are 125 in berth's CLI, whatever the verb (ctl/client.h).
  ExpectOneLineError(Berth({"volume", "create", "-d", "nfs", "xx"}), 125,
                     "volume driver \"nfs\" is not available");
  ExpectOneLineError(Berth({"volume", "create", "-o", "color=red", "x1"}), 125,
                     "invalid option key: \"color\"");
  ExpectOneLineError(Berth({"volume", "rm", "nosuch"}), 1, "No such volume: nosuch");
  // Nothing was left behind by the failures.
  EXPECT_TRUE(VolumeNames().empty());
  cpb::ListContainersResponse list;
  cpb::Containers::NewStub(daemon_->Channel())->List(TestDaemon::Context().get(), {}, &list);
  EXPECT_EQ(list.containers_size(), 0);
}

TEST_F(VolumesTest, NamespacesHaveTheirOwnVolumes) {
  ASSERT_EQ(Berth({"volume", "create", "same"}).exit_code, 0);
  ASSERT_EQ(Berth({"-n", "other", "volume", "create", "same"}).exit_code, 0);
  CommandResult r =
      Berth({"-n", "other", "volume", "inspect", "--format", "{{.Mountpoint}}", "same"});
  EXPECT_EQ(r.out, daemon_->root() + "/volumes/other/same/_data\n");
  ASSERT_EQ(Berth({"volume", "rm", "same"}).exit_code, 0);
  EXPECT_EQ(VolumeNames("other"), std::set<std::string>{"same"});
  EXPECT_TRUE(VolumeNames().empty());
}

}  // namespace
}  // namespace berth::e2e
