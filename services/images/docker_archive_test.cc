#include "services/images/docker_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/digest.h"
#include "services/images/oci.h"

namespace berth::images {
namespace {

using ::testing::HasSubstr;

std::string D(char c) { return "sha256:" + std::string(64, c); }

TEST(DockerArchive, ParsesDockerSaveManifest) {
  absl::StatusOr<std::vector<DockerArchiveEntry>> e = ParseDockerManifestFile(
      R"([{"Config":"abc.json","RepoTags":["busybox:latest","x/y:1"],"Layers":["1/layer.tar","2/layer.tar"]},
          {"Config":"def.json","RepoTags":null,"Layers":[]}])");
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].config, "abc.json");
  EXPECT_EQ((*e)[0].repo_tags, (std::vector<std::string>{"busybox:latest", "x/y:1"}));
  EXPECT_EQ((*e)[0].layers, (std::vector<std::string>{"1/layer.tar", "2/layer.tar"}));
  EXPECT_TRUE((*e)[1].repo_tags.empty());

  // Writing and reading again gives the same entries.
  absl::StatusOr<std::vector<DockerArchiveEntry>> again =
      ParseDockerManifestFile(DockerManifestFileJson(*e));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].layers, (*e)[0].layers);
}

TEST(DockerArchive, BadManifestsSayWhat) {
  const std::pair<std::string, std::string> cases[] = {
      {"{", "not valid JSON"},
      {"{}", "not a JSON array"},
      {"[1]", "entry 0 is not an object"},
      {R"([{"Layers":[]}])", "entry 0 has no \"Config\" path"},
      {R"([{"Config":"a"}])", "has no \"Layers\" array"},
      {R"([{"Config":"a","Layers":[1]}])", "a layer path is not a string"},
      {R"([{"Config":"a","Layers":[],"RepoTags":"x"}])", "\"RepoTags\" is not an array"},
      {"[" + std::string(5 << 20, ' ') + "]", "over the 4 MiB limit"},
  };
  for (const auto& [text, why] : cases) {
    absl::StatusOr<std::vector<DockerArchiveEntry>> e = ParseDockerManifestFile(text);
    ASSERT_FALSE(e.ok()) << text.substr(0, 40);
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(e.status().message()), HasSubstr(why));
    EXPECT_THAT(std::string(e.status().message()), HasSubstr("manifest.json"));
  }
}

TEST(DockerArchive, LayerMediaTypeFromMagic) {
  EXPECT_EQ(LayerMediaTypeFromMagic("\x1f\x8b\x08"), kDockerLayerGzip);
  EXPECT_EQ(LayerMediaTypeFromMagic(std::string("\x28\xb5\x2f\xfd", 4)), kOciLayerZstd);
  EXPECT_EQ(LayerMediaTypeFromMagic("bin/"), kDockerLayer);
  EXPECT_EQ(LayerMediaTypeFromMagic(""), kDockerLayer);
}

TEST(DockerArchive, ConvertsToAStableSchema2Manifest) {
  const Manifest m =
      DockerSchema2Manifest({.digest = D('c'), .size = 100},
                            {{.media_type = kDockerLayer, .digest = D('1'), .size = 10},
                             {.media_type = kDockerLayerGzip, .digest = D('2'), .size = 20}});
  const std::string json = ManifestJson(m, kDockerManifest);
  // Same input, same bytes, same digest: a docker-archive loaded twice is one image.
  EXPECT_EQ(json,
            ManifestJson(DockerSchema2Manifest(
                             {.digest = D('c'), .size = 100},
                             {{.media_type = kDockerLayer, .digest = D('1'), .size = 10},
                              {.media_type = kDockerLayerGzip, .digest = D('2'), .size = 20}}),
                         kDockerManifest));
  absl::StatusOr<Manifest> back = ParseManifest(json, "converted");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->config.media_type, kDockerConfig);
  EXPECT_EQ(back->config.digest, D('c'));
  EXPECT_EQ(back->config.size, 100);
  ASSERT_EQ(back->layers.size(), 2u);
  EXPECT_EQ(back->layers[1].media_type, kDockerLayerGzip);
  EXPECT_THAT(json,
              HasSubstr(R"("mediaType":"application/vnd.docker.distribution.manifest.v2+json")"));
  EXPECT_THAT(json, HasSubstr(R"("schemaVersion":2)"));
}

TEST(Oci, DocumentsAreBoundedAndChecked) {
  EXPECT_TRUE(CheckDocumentSize(kMaxDocumentSize, "x").ok());
  absl::Status big = CheckDocumentSize(kMaxDocumentSize + 1, "manifest sha256:…");
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(big.message()), HasSubstr("manifest sha256:… is 4194305 bytes"));

  EXPECT_THAT(std::string(ParseIndex("[]", "index.json").status().message()),
              HasSubstr("index.json: not a JSON object"));
  EXPECT_THAT(std::string(ParseIndex("{}", "index.json").status().message()),
              HasSubstr("no \"manifests\" array"));
  EXPECT_THAT(
      std::string(
          ParseIndex(R"({"manifests":[{"digest":"sha256:x","size":1}]})", "i").status().message()),
      HasSubstr("descriptor digest \"sha256:x\""));
  EXPECT_THAT(
      std::string(ParseManifest(R"({"config":{"digest":")" + D('a') + R"(","size":-1}})", "m")
                      .status()
                      .message()),
      HasSubstr("has no valid size"));

  absl::StatusOr<Index> index = ParseIndex(
      R"({"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
          D('a') + R"(","size":5,"platform":{"os":"linux","architecture":"arm64","variant":"v8"},
          "annotations":{"k":"v"}}]})",
      "index.json");
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_TRUE(index->manifests[0].platform.has_value());
  EXPECT_EQ(index->manifests[0].platform->String(), "linux/arm64/v8");
  EXPECT_EQ(index->manifests[0].annotations.at("k"), "v");
}

TEST(Oci, KindsAndPlatforms) {
  EXPECT_EQ(KindOf(kOciIndex), Kind::kIndex);
  EXPECT_EQ(KindOf(kDockerManifestList), Kind::kIndex);
  EXPECT_EQ(KindOf(kDockerManifest), Kind::kManifest);
  EXPECT_EQ(KindOf(kOciConfig), Kind::kConfig);
  EXPECT_EQ(KindOf("application/vnd.oci.image.layer.v1.tar+gzip"), Kind::kLayer);
  EXPECT_EQ(KindOf("application/x-made-up"), Kind::kUnknown);
  const Platform arm{.os = "linux", .architecture = "arm64", .variant = "v8"};
  EXPECT_TRUE(PlatformMatches({.os = "linux", .architecture = "arm64", .variant = ""}, arm));
  EXPECT_FALSE(PlatformMatches({.os = "linux", .architecture = "arm64", .variant = "v9"}, arm));
  EXPECT_FALSE(PlatformMatches({.os = "linux", .architecture = "amd64", .variant = ""}, arm));
  EXPECT_EQ(HostPlatform().os, "linux");
  EXPECT_NE(HostPlatform().architecture, "x86_64");
}

}  // namespace
}  // namespace berth::images
