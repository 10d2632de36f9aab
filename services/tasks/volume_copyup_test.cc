#include "services/tasks/volume_copyup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "common/syscall.h"

namespace berth::tasks {
namespace {

class CopyUpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    char tmpl[256];
    snprintf(tmpl, sizeof(tmpl), "%s/copyupXXXXXX", tmp ? tmp : "/tmp");
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    rootfs_ = dir_ + "/rootfs";
    volumes_ = dir_ + "/volumes";
    ASSERT_TRUE(sys::MkdirAll(rootfs_ + "/app/data/sub", 0755).ok());
    ASSERT_TRUE(sys::MkdirAll(rootfs_ + "/etc", 0755).ok());
    Write(rootfs_ + "/app/data/file", "image content\n", 0640);
    Write(rootfs_ + "/app/data/sub/deep", "deep\n", 0600);
    Write(rootfs_ + "/etc/marker", "inside the rootfs\n", 0644);
    ASSERT_EQ(symlink("/etc/marker", (rootfs_ + "/app/data/link").c_str()), 0);
    ASSERT_EQ(link((rootfs_ + "/app/data/file").c_str(), (rootfs_ + "/app/data/hard").c_str()), 0);
    ASSERT_EQ(chmod((rootfs_ + "/app/data").c_str(), 0750), 0);
    // A symlink that points at the host's root: resolved inside the rootfs, never outside.
    ASSERT_EQ(symlink("/", (rootfs_ + "/escape").c_str()), 0);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  void Write(const std::string& p, const std::string& text, mode_t mode) {
    std::ofstream(p) << text;
    ASSERT_EQ(chmod(p.c_str(), mode), 0);
  }
  std::string Volume(const std::string& name) {
    const std::string data = volumes_ + "/default/" + name + "/_data";
    EXPECT_TRUE(sys::MkdirAll(data, 0755).ok());
    return data;
  }
  static nlohmann::json Spec(std::vector<std::pair<std::string, std::string>> binds) {
    nlohmann::json mounts = nlohmann::json::array();
    mounts.push_back({{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}});
    for (const auto& [dest, source] : binds) {
      mounts.push_back({{"destination", dest},
                        {"type", "bind"},
                        {"source", source},
                        {"options", {"rbind", "rprivate"}}});
    }
    return {{"mounts", mounts}};
  }

  std::string dir_, rootfs_, volumes_;
};

TEST_F(CopyUpTest, NewVolumeGetsTheImagesFilesModesAndLinks) {
  const std::string data = Volume("v");
  ASSERT_TRUE(CopyUpVolumes(rootfs_, Spec({{"/app/data", data}}), volumes_).ok());
  EXPECT_EQ(*sys::ReadFile(data + "/file"), "image content\n");
  EXPECT_EQ(*sys::ReadFile(data + "/sub/deep"), "deep\n");
  struct stat st, st2;
  ASSERT_EQ(lstat((data + "/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_EQ(lstat((data + "/hard").c_str(), &st2), 0);
  EXPECT_EQ(st.st_ino, st2.st_ino);  // a hardlink stays one
  char target[256] = {};
  ASSERT_GT(readlink((data + "/link").c_str(), target, sizeof(target) - 1), 0);
  EXPECT_STREQ(target, "/etc/marker");
  ASSERT_EQ(stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);  // _data takes the image directory's mode
}

TEST_F(CopyUpTest, VolumeWithContentIsLeftAlone) {
  const std::string data = Volume("v");
  std::ofstream(data + "/mine") << "user data";
  ASSERT_TRUE(CopyUpVolumes(rootfs_, Spec({{"/app/data", data}}), volumes_).ok());
  EXPECT_FALSE(sys::Exists(data + "/file"));
  EXPECT_EQ(*sys::ReadFile(data + "/mine"), "user data");
}

TEST_F(CopyUpTest, NoCopyAnnotationAndMissingImagePath) {
  const std::string a = Volume("a"), b = Volume("b");
  nlohmann::json spec = Spec({{"/app/data", a}, {"/not/in/image", b}});
  spec["annotations"] = {{"berth.io/volume-nocopy", R"(["/app/data"])"}};
  ASSERT_TRUE(CopyUpVolumes(rootfs_, spec, volumes_).ok());
  EXPECT_FALSE(sys::Exists(a + "/file"));
  EXPECT_FALSE(sys::Exists(b + "/file"));
}

TEST_F(CopyUpTest, SymlinksInTheImageResolveInsideTheRootfs) {
  // /escape/etc is the rootfs's /etc, not the host's.
  const std::string data = Volume("v");
  ASSERT_TRUE(CopyUpVolumes(rootfs_, Spec({{"/escape/etc", data}}), volumes_).ok());
  EXPECT_EQ(*sys::ReadFile(data + "/marker"), "inside the rootfs\n");
  EXPECT_FALSE(sys::Exists(data + "/passwd"));
}

TEST_F(CopyUpTest, BindsThatAreNotVolumesAreNotTouched) {
  const std::string host = dir_ + "/host";
  ASSERT_TRUE(sys::MkdirAll(host, 0755).ok());
  ASSERT_TRUE(CopyUpVolumes(rootfs_, Spec({{"/app/data", host}}), volumes_).ok());
  EXPECT_FALSE(sys::Exists(host + "/file"));
  absl::Status st = CopyUpVolumes(rootfs_, Spec({{"/app/data", dir_ + "/nope"}}), volumes_);
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  EXPECT_NE(st.message().find("bind source path does not exist: " + dir_ + "/nope"),
            std::string::npos)
      << st;
}

}  // namespace
}  // namespace berth::tasks
