#include "ctl/container/mounts.h"

#include <gtest/gtest.h>

namespace berth::ctl {
namespace {

using json = nlohmann::json;
using T = MountRequest::Type;

std::string Err(const absl::StatusOr<MountRequest>& r) {
  return r.ok() ? "ok" : std::string(r.status().message());
}

TEST(VolumeFlag, NamedBindAndAnonymous) {
  absl::StatusOr<MountRequest> m = ParseVolumeFlag("my-volume:/app/data");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->type, T::kVolume);
  EXPECT_EQ(m->source, "my-volume");
  EXPECT_EQ(m->target, "/app/data");
  EXPECT_FALSE(m->readonly);

  m = ParseVolumeFlag("/srv/www/:/var/www:ro");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->type, T::kBind);
  EXPECT_EQ(m->source, "/srv/www");
  EXPECT_TRUE(m->readonly);

  m = ParseVolumeFlag("/data");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->type, T::kVolume);
  EXPECT_EQ(m->source, "");

  m = ParseVolumeFlag("cache:/c:nocopy,rw");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->nocopy);
  EXPECT_FALSE(m->readonly);

  m = ParseVolumeFlag("/h:/c:rshared,z");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->propagation, "rshared");
}

TEST(VolumeFlag, DockersErrors) {
  EXPECT_EQ(Err(ParseVolumeFlag("")), "invalid spec: ");
  EXPECT_EQ(Err(ParseVolumeFlag("a:b:c:d")), "invalid spec: a:b:c:d");
  EXPECT_EQ(Err(ParseVolumeFlag("/foo:ro")), "invalid spec: /foo:ro");
  EXPECT_EQ(Err(ParseVolumeFlag(":/x")), "invalid spec: :/x");
  EXPECT_EQ(Err(ParseVolumeFlag("v:/x:rx")), "invalid mode: rx");
  EXPECT_EQ(Err(ParseVolumeFlag("v:/x:ro,rw")), "invalid mode: ro,rw");
  EXPECT_EQ(Err(ParseVolumeFlag("v:rel")),
            "invalid mount config for type \"volume\": invalid mount path: 'rel' mount path "
            "must be absolute");
  EXPECT_EQ(Err(ParseVolumeFlag("v:/")),
            "invalid mount config for type \"volume\": invalid specification: destination "
            "can't be '/'");
  EXPECT_NE(Err(ParseVolumeFlag("./dir:/x")).find("If you intended to pass a host directory"),
            std::string::npos);
  EXPECT_NE(Err(ParseVolumeFlag("/h:/x:nocopy")).find("nocopy"), std::string::npos);
}

TEST(MountFlag, DockersSyntax) {
  absl::StatusOr<MountRequest> m =
      ParseMountFlag("type=volume,source=data,target=/d,volume-opt=type=tmpfs,volume-label=a=b");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->type, T::kVolume);
  EXPECT_EQ(m->source, "data");
  EXPECT_EQ(m->volume_options.at("type"), "tmpfs");
  EXPECT_EQ(m->volume_labels.at("a"), "b");

  m = ParseMountFlag("type=bind,src=/etc,dst=/host-etc,readonly");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->type, T::kBind);
  EXPECT_TRUE(m->readonly);
  EXPECT_EQ(m->target, "/host-etc");

  m = ParseMountFlag("destination=/anon");  // type defaults to volume, no source: anonymous
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->type, T::kVolume);
  EXPECT_EQ(m->source, "");

  m = ParseMountFlag("type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->tmpfs_options, (std::vector<std::string>{"size=67108864", "mode=1770"}));

  m = ParseMountFlag("type=bind,source=/a,target=/b,readonly=false,bind-propagation=rslave");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->readonly);
  EXPECT_EQ(m->propagation, "rslave");
}

TEST(MountFlag, Errors) {
  EXPECT_EQ(Err(ParseMountFlag("type=volume,foo")), "invalid field 'foo' must be a key=value pair");
  EXPECT_EQ(Err(ParseMountFlag("type=volume,target=/x,color=red")),
            "unexpected key 'color' in 'color=red'");
  EXPECT_EQ(Err(ParseMountFlag("type=volume,source=v")), "target is required");
  EXPECT_EQ(Err(ParseMountFlag("type=bind,target=/x")),
            "invalid mount config for type \"bind\": field Source must not be empty");
  EXPECT_EQ(Err(ParseMountFlag("type=tmpfs,source=x,target=/x")),
            "invalid mount config for type \"tmpfs\": field Source must not be specified");
  EXPECT_EQ(Err(ParseMountFlag("type=bind,source=/a,target=/x,volume-nocopy")),
            "cannot mix 'volume-*' options with mount type 'bind'");
  EXPECT_EQ(Err(ParseMountFlag("type=volume,target=/x,tmpfs-size=1m")),
            "cannot mix 'tmpfs-*' options with mount type 'volume'");
  EXPECT_NE(Err(ParseMountFlag("type=npipe,target=/x")).find("invalid mount type"),
            std::string::npos);
}

TEST(VolumesFrom, Modes) {
  absl::StatusOr<VolumesFrom> v = ParseVolumesFrom("web:ro");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->container, "web");
  EXPECT_TRUE(*v->readonly);
  v = ParseVolumesFrom("web");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->readonly.has_value());
  EXPECT_FALSE(ParseVolumesFrom("web:rx").ok());
  EXPECT_FALSE(ParseVolumesFrom(":ro").ok());
}

TEST(Spec, ImageVolumesAndMountsInDepthOrder) {
  json cfg = {{"config", {{"Volumes", {{"/data", json::object()}, {"/a/b/", json::object()}}}}}};
  EXPECT_EQ(ImageVolumes(cfg), (std::vector<std::string>{"/a/b", "/data"}));

  json spec = {{"mounts",
                {{{"destination", "/proc"}, {"type", "proc"}},
                 {{"destination", "/dev/shm"}, {"type", "tmpfs"}}}}};
  MountRequest deep{.type = T::kVolume, .target = "/a/b/c"};
  MountRequest shm{.type = T::kBind, .target = "/dev/shm", .readonly = true};
  MountRequest top{.type = T::kVolume, .target = "/a"};
  AddMountsToSpec(
      spec,
      {OciMount(deep, "/v/deep/_data"), OciMount(shm, "/host/shm"), OciMount(top, "/v/top/_data")},
      {"/a"});
  ASSERT_EQ(spec["mounts"].size(), 4u);
  EXPECT_EQ(spec["mounts"][0]["destination"], "/proc");
  EXPECT_EQ(spec["mounts"][1]["destination"], "/a");
  EXPECT_EQ(spec["mounts"][2]["destination"], "/dev/shm");  // replaces the default
  EXPECT_EQ(spec["mounts"][2]["options"], json({"rbind", "rprivate", "ro"}));
  EXPECT_EQ(spec["mounts"][3]["destination"], "/a/b/c");
  EXPECT_EQ(spec["annotations"]["berth.io/volume-nocopy"], "[\"/a\"]");
  std::vector<json> user = UserMounts(spec);
  ASSERT_EQ(user.size(), 3u);
  EXPECT_EQ(user[0]["source"], "/v/top/_data");
}

TEST(Spec, Duplicates) {
  EXPECT_TRUE(CheckDuplicate({"/a"}, "/b").ok());
  EXPECT_EQ(CheckDuplicate({"/a"}, "/a").message(), "Duplicate mount point: /a");
}

}  // namespace
}  // namespace berth::ctl
