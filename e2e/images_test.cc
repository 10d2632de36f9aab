// The images service end to end: the real berthd and the real berth CLI load, list, tag, save
// and remove images made by e2e/fixtures/make_oci_image.py, read archives that skopeo writes,
// and refuse broken ones without touching what is stored.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "berth/services/images/v1/images.grpc.pb.h"
#include "e2e/harness/engine.h"
#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

namespace ipb = berth::services::images::v1;
using nlohmann::json;

const std::string kMakeImage = Runfile("e2e/fixtures/make_oci_image.py");
const std::string kBreak = Runfile("e2e/fixtures/break_archive.py");

struct Daemon : Engine {
  const std::string& root = TestDaemon::root();
  std::shared_ptr<grpc::Channel> channel = Channel();

  Daemon() : Engine({.prefix = "berth-img"}) { EXPECT_TRUE(started()) << Stderr(); }

  CommandResult Berth(std::vector<std::string> args, const std::string& ns = "default") {
    args.insert(args.begin(), {"-n", ns});
    return Engine::Berth(std::move(args));
  }

  bool BlobOnDisk(const std::string& digest) {
    struct stat st;
    return stat((root + "/content/blobs/sha256/" + digest.substr(7)).c_str(), &st) == 0;
  }

  // Normalised name → target digest, in `ns`.
  std::map<std::string, std::string> Images(const std::string& ns = "default") {
    auto stub = ipb::Images::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.AddMetadata("berth-namespace", ns);
    ipb::ListImagesResponse resp;
    grpc::Status st = stub->List(&ctx, {}, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::map<std::string, std::string> out;
    for (const auto& i : resp.images()) out[i.name()] = i.target().digest();
    return out;
  }

  json Inspect(const std::string& image) {
    CommandResult r = Berth({"image", "inspect", image});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array() && j.size() == 1) << r.out;
    return j.is_array() && !j.empty() ? j[0] : json::object();
  }
};

std::string MakeImage(const std::string& dir, const std::string& name,
                      const std::string& cmd = "sh", std::vector<std::string> flags = {}) {
  std::string out = dir + "/" + std::to_string(getpid()) + "-" + cmd;
  for (const std::string& f : flags) out += f;
  out += ".tar";
  std::vector<std::string> argv = {"/usr/bin/python3", kMakeImage, out, name, "--cmd", cmd};
  argv.insert(argv.end(), flags.begin(), flags.end());
  CommandResult r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

// The SIZE column of the one row that `berth images REPOSITORY:TAG` printed.
std::string SizeColumn(const CommandResult& images) {
  const size_t nl = images.out.find('\n');
  if (nl == std::string::npos) return "";
  std::string row = images.out.substr(nl + 1);
  while (!row.empty() && row.back() == '\n') row.pop_back();
  return row.substr(row.find_last_of(' ') + 1);
}

bool HaveSkopeo() { return access("/usr/bin/skopeo", X_OK) == 0; }

TEST(Images, LoadListTagSaveAndLoadAgainKeepDigests) {
  Daemon d;
  const std::string dir = MakeTempDir("images");
  const std::string archive = MakeImage(dir, "localhost/busybox:e2e");

  CommandResult load = d.Berth({"load", "-i", archive});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(load.out, "Loaded image: localhost/busybox:e2e\n");
  const std::string target = d.Images().at("localhost/busybox:e2e");
  const json info = d.Inspect("localhost/busybox:e2e");
  const std::string id = info["Id"];
  ASSERT_EQ(id.size(), 71u);

  ASSERT_EQ(d.Berth({"tag", "localhost/busybox:e2e", "busybox"}).exit_code, 0);
  CommandResult images = d.Berth({"images"});
  ASSERT_EQ(images.exit_code, 0) << images.err;
  EXPECT_NE(images.out.find("REPOSITORY          TAG      IMAGE ID       CREATED"),
            std::string::npos)
      << images.out;
  EXPECT_NE(images.out.find("busybox             latest   " + id.substr(7, 12)), std::string::npos)
      << images.out;
  EXPECT_NE(images.out.find("localhost/busybox   e2e      " + id.substr(7, 12)), std::string::npos)
      << images.out;
  EXPECT_NE(images.out.find("MB"), std::string::npos) << images.out;
  CommandResult quiet = d.Berth({"images", "-q", "--no-trunc", "busybox"});
  EXPECT_EQ(quiet.out, id + "\n");
  EXPECT_EQ(d.Images().at("docker.io/library/busybox:latest"), target);

  const std::string docker_tar = dir + "/saved-docker.tar";
  const std::string oci_tar = dir + "/saved-oci.tar";
  CommandResult save = d.Berth({"save", "-o", docker_tar, "busybox", "localhost/busybox:e2e"});
  ASSERT_EQ(save.exit_code, 0) << save.err;
  save = d.Berth({"save", "--format", "oci", "-o", oci_tar, "busybox"});
  ASSERT_EQ(save.exit_code, 0) << save.err;
  CommandResult listing = RunCommand({"/usr/bin/tar", "tf", docker_tar});
  EXPECT_NE(listing.out.find("manifest.json"), std::string::npos);
  EXPECT_NE(listing.out.find("index.json"), std::string::npos);
  EXPECT_EQ(RunCommand({"/usr/bin/tar", "tf", oci_tar}).out.find("manifest.json"),
            std::string::npos);

  // By ID, an image with names in two repositories is Docker's conflict: nothing is removed.
  CommandResult rmi = d.Berth({"rmi", id.substr(7, 12)});
  EXPECT_EQ(rmi.exit_code, 1);
  EXPECT_EQ(rmi.out, "");
  EXPECT_NE(
      rmi.err.find("Error response from daemon: conflict: unable to delete " + id.substr(7, 12) +
                   " (must be forced) - image is referenced in multiple repositories"),
      std::string::npos)
      << rmi.err;
  EXPECT_EQ(d.Images().size(), 2u);

  rmi = d.Berth({"rmi", "busybox", "localhost/busybox:e2e"});
  ASSERT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(rmi.out, "Untagged: busybox:latest\nUntagged: localhost/busybox:e2e\n");
  EXPECT_TRUE(d.Images().empty());
  EXPECT_FALSE(d.BlobOnDisk(target));

  // Both saved archives load back to the very same manifest.
  for (const std::string& tar : {docker_tar, oci_tar}) {
    load = d.Berth({"load", "-i", tar});
    ASSERT_EQ(load.exit_code, 0) << tar << ": " << load.err;
    EXPECT_EQ(d.Images().at("docker.io/library/busybox:latest"), target) << tar;
    ASSERT_EQ(d.Berth({"rmi", "busybox"}).exit_code, 0);
  }
  load = d.Berth({"load"}, "default");  // stdin is not a terminal here, but empty
  EXPECT_NE(load.exit_code, 0);

  // With -f, rmi by ID untags every name and deletes the image.
  ASSERT_EQ(d.Berth({"tag", "localhost/busybox:e2e", "busybox"}).exit_code, 0);
  rmi = d.Berth({"rmi", "-f", id.substr(7, 12)});
  ASSERT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(rmi.out,
            "Untagged: busybox:latest\nUntagged: localhost/busybox:e2e\nDeleted: " + id + "\n");
  EXPECT_TRUE(d.Images().empty());
  EXPECT_FALSE(d.BlobOnDisk(target));

  if (!HaveSkopeo()) GTEST_SKIP() << "skopeo is not installed (scripts/install-deps.sh)";
  // skopeo reads what berth writes…
  CommandResult sk = RunCommand(
      {"/usr/bin/skopeo", "inspect", "docker-archive:" + docker_tar + ":busybox:latest"});
  EXPECT_EQ(sk.exit_code, 0) << sk.err;
  sk =
      RunCommand({"/usr/bin/skopeo", "copy", "oci-archive:" + oci_tar, "dir:" + dir + "/from-oci"});
  EXPECT_EQ(sk.exit_code, 0) << sk.err;
  // …and berth reads what skopeo writes: docker-archive (legacy layout with layer symlinks
  // and a converted manifest) and oci-archive (skopeo compresses the layer).
  const std::string layout = dir + "/layout";
  ASSERT_EQ(RunCommand({"/usr/bin/mkdir", "-p", layout}).exit_code, 0);
  ASSERT_EQ(RunCommand({"/usr/bin/tar", "xf", archive, "-C", layout}).exit_code, 0);
  const std::string sk_docker = dir + "/sk-docker.tar";
  const std::string sk_oci = dir + "/sk-oci.tar";
  sk = RunCommand({"/usr/bin/skopeo", "copy", "oci:" + layout,
                   "docker-archive:" + sk_docker + ":localhost/busybox:skd"});
  ASSERT_EQ(sk.exit_code, 0) << sk.err;
  sk = RunCommand({"/usr/bin/skopeo", "copy", "oci:" + layout,
                   "oci-archive:" + sk_oci + ":localhost/busybox:sko"});
  ASSERT_EQ(sk.exit_code, 0) << sk.err;
  load = d.Berth({"load", "-i", sk_docker});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(load.out, "Loaded image: localhost/busybox:skd\n");
  EXPECT_EQ(d.Inspect("localhost/busybox:skd")["Id"], id);
  load = d.Berth({"load", "-i", sk_oci});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(d.Inspect("localhost/busybox:sko")["Id"], id);

  // The docker-archive image saved and loaded again keeps its converted manifest's digest.
  const std::string skd_target = d.Images().at("localhost/busybox:skd");
  const std::string again = dir + "/again.tar";
  ASSERT_EQ(d.Berth({"save", "-o", again, "localhost/busybox:skd"}).exit_code, 0);
  ASSERT_EQ(d.Berth({"rmi", "localhost/busybox:skd"}).exit_code, 0);
  ASSERT_EQ(d.Berth({"load", "-i", again}).exit_code, 0);
  EXPECT_EQ(d.Images().at("localhost/busybox:skd"), skd_target);
}

TEST(Images, BrokenArchivesAreRefusedAndStoreNothing) {
  Daemon d;
  const std::string dir = MakeTempDir("broken");
  const std::string good = MakeImage(dir, "localhost/busybox:good");
  ASSERT_EQ(d.Berth({"load", "-i", good}).exit_code, 0);
  const auto before = d.Images();

  struct Case {
    const char* mode;
    const char* error;
  };
  const Case cases[] = {
      {"truncate", "the archive is truncated"},
      {"digest-mismatch", "digest mismatch"},
      {"oversized-manifest", "over the 4 MiB limit"},
      {"unknown-media-type", "unknown media type \"application/x-made-up\""},
      {"missing-blob", "is missing"},
  };
  for (const Case& c : cases) {
    const std::string bad = dir + "/" + c.mode + ".tar";
    CommandResult r = RunCommand({"/usr/bin/python3", kBreak, good, bad, c.mode});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // In the namespace that holds the good image, and in a fresh one where nothing is stored.
    // A blob missing from the archive but already held by the namespace is no loss there,
    // as in containerd: that case only fails where nothing is stored.
    std::vector<std::string> namespaces = {"fresh"};
    if (std::string(c.mode) != "missing-blob") namespaces.push_back("default");
    for (const std::string& ns : namespaces) {
      r = d.Berth({"load", "-q", "-i", bad}, ns);
      EXPECT_NE(r.exit_code, 0) << c.mode << " in " << ns;
      EXPECT_NE(r.err.find(c.error), std::string::npos) << c.mode << " in " << ns << ": " << r.err;
      EXPECT_EQ(r.out, "") << c.mode;
    }
    EXPECT_EQ(d.Images(), before) << c.mode;
    EXPECT_TRUE(d.Images("fresh").empty()) << c.mode;
  }
  // The good image is whole: it still saves.
  EXPECT_EQ(d.Berth({"save", "-o", dir + "/still.tar", "localhost/busybox:good"}).exit_code, 0);
  // Nothing is left behind: no ingests and, in the fresh namespace, no blobs.
  EXPECT_EQ(RunCommand({"/usr/bin/find", d.root + "/content/ingest", "-mindepth", "1"}).out, "");
}

TEST(Images, RmiCollectsUniqueBlobsAndKeepsSharedOnes) {
  Daemon d;
  const std::string dir = MakeTempDir("gc");
  // Same layer, different configs.
  ASSERT_EQ(d.Berth({"load", "-i", MakeImage(dir, "localhost/a:1", "sh")}).exit_code, 0);
  ASSERT_EQ(d.Berth({"load", "-i", MakeImage(dir, "localhost/b:1", "ls")}).exit_code, 0);
  const json a = d.Inspect("localhost/a:1");
  const json b = d.Inspect("localhost/b:1");
  const std::string layer = a["RootFS"]["diff_ids"][0];
  ASSERT_EQ(layer, b["RootFS"]["diff_ids"][0].get<std::string>());
  const std::string a_config = a["Id"], a_manifest = a["Manifest"];
  ASSERT_NE(a_config, b["Id"].get<std::string>());
  for (const std::string& blob : {a_config, a_manifest, layer}) EXPECT_TRUE(d.BlobOnDisk(blob));

  ASSERT_EQ(d.Berth({"rmi", "localhost/a:1"}).exit_code, 0);
  EXPECT_FALSE(d.BlobOnDisk(a_config));
  EXPECT_FALSE(d.BlobOnDisk(a_manifest));
  EXPECT_TRUE(d.BlobOnDisk(layer));
  EXPECT_TRUE(d.BlobOnDisk(b["Id"]));

  ASSERT_EQ(d.Berth({"rmi", "localhost/b:1"}).exit_code, 0);
  EXPECT_FALSE(d.BlobOnDisk(layer));
  EXPECT_FALSE(d.BlobOnDisk(b["Id"]));

  CommandResult missing = d.Berth({"rmi", "localhost/b:1"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("image \"localhost/b:1\" not found"), std::string::npos)
      << missing.err;
  CommandResult invalid = d.Berth({"tag", "localhost/a:1", "Bad/Name"});
  EXPECT_NE(invalid.err.find("must be lowercase"), std::string::npos) << invalid.err;
}

TEST(Images, SizeIsTheUnpackedSize) {
  Daemon d;
  const std::string dir = MakeTempDir("size");
  // The same layer, stored plain and gzip-compressed.
  ASSERT_EQ(d.Berth({"load", "-i", MakeImage(dir, "localhost/plain:1")}).exit_code, 0);
  const std::string gz = MakeImage(dir, "localhost/gz:1", "sh", {"--gzip"});
  CommandResult load = d.Berth({"load", "-i", gz});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  const json plain = d.Inspect("localhost/plain:1");
  const std::string diff_id = plain["RootFS"]["diff_ids"][0];
  struct stat st;
  ASSERT_EQ(stat((d.root + "/content/blobs/sha256/" + diff_id.substr(7)).c_str(), &st), 0);
  const int64_t unpacked = st.st_size;  // the plain layer is the uncompressed tar
  // The gzip image's layer was already unpacked (by the plain image): its size comes from
  // the snapshot; the plain one's from its own unpack.
  EXPECT_EQ(plain["Size"].get<int64_t>(), unpacked);
  EXPECT_EQ(d.Inspect("localhost/gz:1")["Size"].get<int64_t>(), unpacked);
  CommandResult a = d.Berth({"images", "localhost/plain:1"});
  CommandResult b = d.Berth({"images", "localhost/gz:1"});
  EXPECT_EQ(SizeColumn(a), SizeColumn(b)) << a.out << b.out;
  EXPECT_NE(SizeColumn(a).find("MB"), std::string::npos) << a.out;

  // In another namespace (snapshots are per namespace): unpacked from the gzip blob itself.
  ASSERT_EQ(d.Berth({"load", "-i", gz}, "other").exit_code, 0);
  json other =
      json::parse(d.Berth({"image", "inspect", "localhost/gz:1"}, "other").out, nullptr, false);
  ASSERT_TRUE(other.is_array() && other.size() == 1);
  EXPECT_EQ(other[0]["Size"].get<int64_t>(), unpacked);

  // Not unpacked: the size as stored, which is all berth knows.
  ASSERT_EQ(d.Berth({"load", "--no-unpack", "-i", gz}, "stored").exit_code, 0);
  json stored =
      json::parse(d.Berth({"image", "inspect", "localhost/gz:1"}, "stored").out, nullptr, false);
  ASSERT_TRUE(stored.is_array() && stored.size() == 1);
  EXPECT_LT(stored[0]["Size"].get<int64_t>(), unpacked);
}

// Copies a tar without the entries named in `drop` (comma-separated).
void TarWithout(const std::string& in, const std::string& out, const std::string& drop) {
  CommandResult r =
      RunCommand({"/usr/bin/python3", "-c",
                  "import sys, tarfile\n"
                  "drop = sys.argv[3].split(',')\n"
                  "with tarfile.open(sys.argv[1]) as i, tarfile.open(sys.argv[2], 'w') as o:\n"
                  "    for m in i.getmembers():\n"
                  "        if m.name not in drop:\n"
                  "            o.addfile(m, i.extractfile(m) if m.isfile() else None)\n",
                  in, out, drop});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST(Images, UnnamedEntriesLoadAsDanglingImages) {
  Daemon d;
  const std::string dir = MakeTempDir("dangling");
  const std::string oci = MakeImage(dir, "localhost/x:1", "sh", {"--unnamed"});
  CommandResult load = d.Berth({"load", "-i", oci});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  ASSERT_EQ(d.Images().size(), 1u);
  const std::string name = d.Images().begin()->first;
  const std::string target = d.Images().begin()->second;
  EXPECT_EQ(name, "berth.invalid/dangling@" + target);
  const json info = d.Inspect(target.substr(7, 12));  // by digest prefix
  const std::string id = info["Id"];
  EXPECT_EQ(load.out, "Loaded image ID: " + id + "\n");
  EXPECT_EQ(info["RepoTags"], json::array());
  EXPECT_EQ(info["RepoDigests"], json::array());
  EXPECT_EQ(d.Inspect(id.substr(7, 12))["Target"]["digest"], target);  // by image ID

  CommandResult images = d.Berth({"images"});
  EXPECT_NE(images.out.find("<none>       <none>   " + id.substr(7, 12)), std::string::npos)
      << images.out;
  // Loading it again adds nothing.
  ASSERT_EQ(d.Berth({"load", "-i", oci}).exit_code, 0);
  EXPECT_EQ(d.Images().size(), 1u);

  // Saved by ID, it is saved unnamed; a docker-archive with no RepoTags loads as dangling too.
  const std::string saved = dir + "/saved.tar";
  ASSERT_EQ(d.Berth({"save", "-o", saved, id.substr(7, 12)}).exit_code, 0);
  const std::string docker = dir + "/docker.tar";
  TarWithout(saved, docker, "index.json,oci-layout");
  load = d.Berth({"load", "-i", docker}, "docker");
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(load.out, "Loaded image ID: " + id + "\n");
  ASSERT_EQ(d.Images("docker").size(), 1u);
  EXPECT_EQ(d.Images("docker").begin()->first.rfind("berth.invalid/dangling@sha256:", 0), 0u);
  load = d.Berth({"load", "-i", saved}, "oci");
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(d.Images("oci"), d.Images());
  ASSERT_EQ(d.Berth({"rmi", target.substr(7, 12)}, "oci").exit_code, 0);  // by digest prefix

  // Removed by its ID, with what only it used.
  CommandResult rmi = d.Berth({"rmi", id.substr(7, 12)}, "docker");
  ASSERT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(rmi.out, "Deleted: " + id + "\n");
  EXPECT_TRUE(d.Images("docker").empty());

  // A name makes it dangling no more, in either order.
  ASSERT_EQ(d.Berth({"tag", id.substr(7, 12), "localhost/named:1"}).exit_code, 0);
  EXPECT_EQ(d.Images(), (std::map<std::string, std::string>{{"localhost/named:1", target}}));
  ASSERT_EQ(d.Berth({"load", "-i", oci}).exit_code, 0);
  EXPECT_EQ(d.Images(), (std::map<std::string, std::string>{{"localhost/named:1", target}}));
  ASSERT_EQ(d.Berth({"rmi", "localhost/named:1"}).exit_code, 0);
  EXPECT_FALSE(d.BlobOnDisk(target));
}

TEST(Images, LoadShowsPlainPerBlobLinesWhenNotOnATerminal) {
  Daemon d;
  const std::string dir = MakeTempDir("progress");
  const std::string gz = MakeImage(dir, "localhost/progress:1", "sh", {"--gzip"});
  // stdout and stderr are pipes here: progress goes to stderr, one line per blob, no escapes.
  CommandResult load = d.Berth({"load", "-i", gz});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(load.out, "Loaded image: localhost/progress:1\n");
  const json info = d.Inspect("localhost/progress:1");
  const std::string config = info["Id"];
  const std::string manifest = info["Manifest"];
  EXPECT_EQ(load.err.find('\033'), std::string::npos) << load.err;
  EXPECT_EQ(load.err.find("Loading"), std::string::npos) << load.err;
  for (const std::string& blob : {config, manifest}) {
    EXPECT_NE(load.err.find(blob.substr(7, 12) + ": Loaded "), std::string::npos) << load.err;
  }
  EXPECT_NE(load.err.find("localhost/progress:1: unpacked 1/1 layers\n"), std::string::npos)
      << load.err;
  // Lines: three blobs and the unpack.
  EXPECT_EQ(std::count(load.err.begin(), load.err.end(), '\n'), 4) << load.err;

  load = d.Berth({"load", "-i", gz});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_NE(load.err.find(config.substr(7, 12) + ": Already exists\n"), std::string::npos)
      << load.err;
  load = d.Berth({"load", "-q", "-i", gz});
  EXPECT_EQ(load.err, "");
}

}  // namespace
}  // namespace berth::e2e
