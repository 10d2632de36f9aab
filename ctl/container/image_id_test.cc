#include "ctl/container/image_id.h"

#include <gtest/gtest.h>

#include <vector>

#include "ctl/container/labels.h"

namespace berth::ctl {
namespace {

const std::string kId = "sha256:" + std::string(64, 'a');

TEST(ImageId, RecordedAtCreateIsReadBack) {
  std::map<std::string, std::string> labels = {{kLabelRestartPolicy, "no"}};
  RecordImageId(kId, &labels);
  EXPECT_EQ(labels.at(kLabelImageId), kId);
  berth::services::containers::v1::Container c;
  c.mutable_labels()->insert(labels.begin(), labels.end());
  EXPECT_EQ(RecordedImageId(c), kId);
}

TEST(ImageId, AContainerWithoutTheLabelHasNone) {
  berth::services::containers::v1::Container c;
  c.set_image("docker.io/library/busybox:latest");
  EXPECT_EQ(RecordedImageId(c), "");
}

TEST(ImageId, OnlyAFullImageIdIsRecordedOrRead) {
  for (const std::string& bad : std::vector<std::string>{
           "", "busybox:latest", "sha256:abcd", std::string(64, 'a'),
           "sha256:" + std::string(64, 'A'), "sha256:" + std::string(63, 'a') + "g",
           "sha512:" + std::string(64, 'a'), kId + "0"}) {
    std::map<std::string, std::string> labels;
    RecordImageId(bad, &labels);
    EXPECT_TRUE(labels.empty()) << bad;
    berth::services::containers::v1::Container c;
    (*c.mutable_labels())[kLabelImageId] = bad;
    EXPECT_EQ(RecordedImageId(c), "") << bad;
  }
}

}  // namespace
}  // namespace berth::ctl
