#include "runtime/linux/mount_options.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

namespace berth::runtime {
namespace {

TEST(MountOptions, FlagsPropagationAndData) {
  MountOptions m = ParseMountOptions({"rbind", "ro", "nosuid", "rslave", "mode=755", "size=64k"});
  EXPECT_EQ(m.flags, MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID);
  EXPECT_EQ(m.propagation, MS_SLAVE | MS_REC);
  EXPECT_EQ(m.data, "mode=755,size=64k");
  EXPECT_TRUE(m.bind());
}

TEST(MountOptions, LaterOptionsWin) {
  MountOptions m = ParseMountOptions({"ro", "rw", "noexec", "exec"});
  EXPECT_EQ(m.flags & (MS_RDONLY | MS_NOEXEC), 0u);
  EXPECT_EQ(m.clear, static_cast<unsigned long>(MS_RDONLY | MS_NOEXEC));
  EXPECT_FALSE(m.bind());
}

TEST(MountOptions, Propagation) {
  EXPECT_EQ(PropagationFlags("private"), static_cast<unsigned long>(MS_PRIVATE));
  EXPECT_EQ(PropagationFlags("rshared"), static_cast<unsigned long>(MS_SHARED | MS_REC));
  EXPECT_EQ(PropagationFlags(""), 0u);
}

}  // namespace
}  // namespace berth::runtime
