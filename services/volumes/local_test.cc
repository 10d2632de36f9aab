#include "services/volumes/local.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

namespace berth::volumes {
namespace {

TEST(Local, Paths) {
  EXPECT_EQ(VolumesRoot("/var/lib/berth"), "/var/lib/berth/volumes");
  EXPECT_EQ(DataDir("/var/lib/berth/volumes", "default", "web"),
            "/var/lib/berth/volumes/default/web/_data");
}

TEST(Local, VolumeNamesFollowDocker) {
  EXPECT_TRUE(ValidateVolumeName("my-volume").ok());
  EXPECT_TRUE(ValidateVolumeName("a1_b.c-d").ok());
  EXPECT_TRUE(ValidateVolumeName(std::string(64, 'f')).ok());
  for (const char* bad : {"", "a", "-x", ".x", "a/b", "a:b", "a b", "/abs"}) {
    absl::Status st = ValidateVolumeName(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << bad;
  }
  EXPECT_NE(ValidateVolumeName("a:b").message().find("includes invalid characters"),
            std::string::npos);
}

TEST(Local, OptionsTmpfsAndBind) {
  absl::StatusOr<LocalMount> none = ParseLocalOptions({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->type.empty());

  absl::StatusOr<LocalMount> t = ParseLocalOptions(
      {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=10m,uid=1000,noexec"}});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->type, "tmpfs");
  EXPECT_EQ(t->data, "size=10m,uid=1000");
  EXPECT_EQ(t->flags, static_cast<unsigned long>(MS_NOEXEC));

  absl::StatusOr<LocalMount> b =
      ParseLocalOptions({{"type", "none"}, {"device", "/tmp"}, {"o", "bind,ro"}});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->type, "bind");
  EXPECT_EQ(b->device, "/tmp");
  EXPECT_EQ(b->flags, static_cast<unsigned long>(MS_BIND | MS_RDONLY));
}

TEST(Local, OptionsRefusedClearly) {
  auto msg = [](const Options& o) { return std::string(ParseLocalOptions(o).status().message()); };
  EXPECT_NE(msg({{"foo", "bar"}}).find("invalid option key: \"foo\""), std::string::npos);
  EXPECT_NE(msg({{"type", "nfs"}, {"o", "addr=1.2.3.4"}}).find("not supported"), std::string::npos);
  EXPECT_NE(msg({{"type", "tmpfs"}, {"o", "huge=always"}}).find("huge=always"), std::string::npos);
  EXPECT_NE(msg({{"type", "none"}, {"o", "bind"}, {"device", "rel"}}).find("absolute"),
            std::string::npos);
  EXPECT_NE(
      msg({{"type", "none"}, {"o", "bind"}, {"device", "/no/such/dir/x"}}).find("not a directory"),
      std::string::npos);
}

}  // namespace
}  // namespace berth::volumes
