// Interop with umoci: an OCI image layout that umoci builds (init, new, then layers made by
// unpack + change + repack, one of them with a deletion, and config), tarred as it stands on
// disk ("./" entries), loads through berthd with its name and its three gzip layers, shows its
// unpacked size, and runs: the container sees every layer's files and not the one the last
// removed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e/harness/engine.h"
#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

using nlohmann::json;

constexpr char kUmoci[] = "/usr/bin/umoci";
constexpr char kName[] = "localhost/umoci/busybox:v1";

void Must(const std::vector<std::string>& argv) {
  CommandResult r = RunCommand(argv);
  ASSERT_EQ(r.exit_code, 0) << argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << ": " << r.err;
}

std::string Read(const std::string& path) { return RunCommand({"/bin/cat", path}).out; }

TEST(Umoci, AnImageUmociBuildsLoadsUnpacksAndRuns) {
  if (access(kUmoci, X_OK) != 0) GTEST_SKIP() << "umoci is not installed";
  Engine d({.prefix = "berth-umoci", .ns = "umoci-" + std::to_string(getpid())});
  ASSERT_TRUE(d.started()) << d.Stderr();
  const std::string dir = d.dir();
  const std::string layout = dir + "/layout";
  const std::string image = layout + ":" + kName;

  Must({kUmoci, "init", "--layout", layout});
  Must({kUmoci, "new", "--image", image});
  // Each layer: umoci unpacks the image into a bundle, the root filesystem changes, umoci
  // repacks the difference as a new gzip layer.
  int bundles = 0;
  auto layer = [&](const std::string& script) {
    const std::string bundle = dir + "/bundle" + std::to_string(++bundles);
    Must({kUmoci, "unpack", "--image", image, bundle});
    Must({"/bin/sh", "-ec", script, "sh", bundle + "/rootfs"});
    Must({kUmoci, "repack", "--image", image, bundle});
  };
  // 1: busybox, and the shell and two applets as symlinks.
  layer(
      "mkdir -p \"$1/bin\"; cp /bin/busybox \"$1/bin/\"; for a in sh cat ls; do "
      "ln -s busybox \"$1/bin/$a\"; done");
  // 2: two files.
  layer(
      "mkdir -p \"$1/etc\"; echo 'written under umoci' > \"$1/etc/umoci.txt\"; "
      "echo 'gone by layer 3' > \"$1/etc/remove-me\"");
  Must({kUmoci, "config", "--image", image, "--config.env", "PATH=/bin", "--config.cmd", "sh"});
  // 3: a whiteout and a new file.
  layer("rm \"$1/etc/remove-me\"; echo 'added by the last layer' > \"$1/etc/added\"");
  // A bare tag for the same manifest: no name of its own to load under.
  Must({kUmoci, "tag", "--image", image, "latest"});

  const std::string archive = dir + "/umoci.tar";
  Must({"/bin/tar", "-C", layout, "-cf", archive, "."});
  CommandResult load = d.Berth({"load", "-i", archive});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  // The bare tag's entry is the named image: no dangling record beside it.
  EXPECT_EQ(load.out, std::string("Loaded image: ") + kName + "\n");
  CommandResult images = d.Berth({"images"});
  ASSERT_EQ(images.exit_code, 0) << images.err;
  EXPECT_NE(images.out.find("localhost/umoci/busybox   v1 "), std::string::npos) << images.out;
  EXPECT_EQ(images.out.find("<none>"), std::string::npos) << images.out;

  // Name, layers and unpacked size, against what umoci wrote.
  json index = json::parse(Read(layout + "/index.json"), nullptr, false);
  ASSERT_TRUE(index.is_object()) << Read(layout + "/index.json");
  std::string manifest_digest;
  for (const json& m : index["manifests"]) {
    if (m["annotations"]["org.opencontainers.image.ref.name"] == kName)
      manifest_digest = m["digest"];
  }
  ASSERT_FALSE(manifest_digest.empty());
  const json manifest =
      json::parse(Read(layout + "/blobs/sha256/" + manifest_digest.substr(7)), nullptr, false);
  ASSERT_EQ(manifest["layers"].size(), 3u) << manifest.dump();
  int64_t unpacked = 0;
  for (const json& l : manifest["layers"]) {
    EXPECT_EQ(l["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
    const std::string blob = layout + "/blobs/sha256/" + l["digest"].get<std::string>().substr(7);
    CommandResult size = RunCommand({"/bin/sh", "-c", "gzip -dc \"$1\" | wc -c", "sh", blob});
    unpacked += std::stoll(size.out);
  }
  CommandResult inspect = d.Berth({"image", "inspect", kName});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  json info = json::parse(inspect.out, nullptr, false);
  ASSERT_TRUE(info.is_array() && info.size() == 1) << inspect.out;
  EXPECT_EQ(info[0]["Manifest"], manifest_digest);
  EXPECT_EQ(info[0]["RepoTags"], json::array({kName}));
  EXPECT_EQ(info[0]["RootFS"]["diff_ids"].size(), 3u);
  EXPECT_EQ(info[0]["Size"].get<int64_t>(), unpacked);
  const std::string id = info[0]["Id"];

  // Every layer is in the container's root, the deleted file is not; by name and by image ID.
  CommandResult run = d.Berth({"run", "--rm", kName, "sh", "-c",
                               "cat /etc/umoci.txt /etc/added; ls /etc/remove-me 2>&1; true"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.find("written under umoci\nadded by the last layer\n"), 0u) << run.out;
  EXPECT_NE(run.out.find("No such file or directory"), std::string::npos) << run.out;
  run = d.Berth({"run", "--rm", id.substr(7, 12), "cat", "/etc/added"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "added by the last layer\n");
  ASSERT_EQ(d.Berth({"rmi", kName}).exit_code, 0);
}

}  // namespace
}  // namespace berth::e2e
