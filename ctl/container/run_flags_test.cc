#include "ctl/container/run_flags.h"

#include <gtest/gtest.h>

namespace berth::ctl {
namespace {

using Options = std::vector<std::string>;

TEST(ParseMemoryBytes, GoUnitsRamInBytes) {
  EXPECT_EQ(*ParseMemoryBytes("1024"), 1024);
  EXPECT_EQ(*ParseMemoryBytes("1b"), 1);
  EXPECT_EQ(*ParseMemoryBytes("1k"), 1024);
  EXPECT_EQ(*ParseMemoryBytes("1K"), 1024);
  EXPECT_EQ(*ParseMemoryBytes("1kb"), 1024);
  EXPECT_EQ(*ParseMemoryBytes("1KiB"), 1024);
  EXPECT_EQ(*ParseMemoryBytes("512m"), 512LL << 20);
  EXPECT_EQ(*ParseMemoryBytes("10 MB"), 10LL << 20);
  EXPECT_EQ(*ParseMemoryBytes("1.5g"), 1610612736);
  EXPECT_EQ(*ParseMemoryBytes("2t"), 2LL << 40);
  EXPECT_EQ(*ParseMemoryBytes("1p"), 1LL << 50);
  EXPECT_EQ(*ParseMemoryBytes("0"), 0);
  EXPECT_EQ(*ParseMemoryBytes("1 "), 1);  // the space before an absent unit, as go-units
}

TEST(ParseMemoryBytes, Invalid) {
  for (const char* bad :
       {"", "m", "1x", "-1", "1.2.3", "1kk", " 1", "1  m", ".5m", "5.m", "1e3", "99999999999p"}) {
    EXPECT_FALSE(ParseMemoryBytes(bad).ok()) << bad;
  }
  EXPECT_EQ(ParseMemoryBytes("lots").status().message(), "invalid size: 'lots'");
}

TEST(ParseNanoCpus, Decimals) {
  EXPECT_EQ(*ParseNanoCpus("1"), 1'000'000'000);
  EXPECT_EQ(*ParseNanoCpus("1.5"), 1'500'000'000);
  EXPECT_EQ(*ParseNanoCpus("0.01"), 10'000'000);
  EXPECT_EQ(*ParseNanoCpus(".5"), 500'000'000);
  EXPECT_EQ(*ParseNanoCpus("2."), 2'000'000'000);
  EXPECT_EQ(*ParseNanoCpus("0.000000001"), 1);
  EXPECT_EQ(*ParseNanoCpus("1.50000000000"), 1'500'000'000);
  EXPECT_EQ(*ParseNanoCpus("0"), 0);
}

TEST(ParseNanoCpus, Invalid) {
  EXPECT_EQ(ParseNanoCpus("1.0000000001").status().message(), "value is too precise");
  EXPECT_EQ(ParseNanoCpus("abc").status().message(), "failed to parse abc as a rational number");
  for (const char* bad : {"", ".", "-1", "1/2", "1.2.3", "1e2", " 1"}) {
    EXPECT_FALSE(ParseNanoCpus(bad).ok()) << bad;
  }
}

TEST(ParseTmpfs, DefaultsAndMerging) {
  absl::StatusOr<TmpfsMount> m = ParseTmpfs("/run");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->destination, "/run");
  EXPECT_EQ(m->options, Options({"noexec", "nosuid", "nodev", "rprivate"}));

  m = ParseTmpfs("/run/:size=64m,exec");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->destination, "/run");
  EXPECT_EQ(m->options, Options({"nosuid", "nodev", "rprivate", "size=64m", "exec"}));

  m = ParseTmpfs("/cache:size=1m,size=2m,rw,ro,shared,mode=1777");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->options,
            Options({"noexec", "nosuid", "nodev", "size=2m", "ro", "shared", "mode=1777"}));
}

TEST(ParseTmpfs, Errors) {
  EXPECT_EQ(ParseTmpfs("run").status().message(),
            "invalid mount path: 'run' mount path must be absolute");
  EXPECT_FALSE(ParseTmpfs("/").ok());
  EXPECT_FALSE(ParseTmpfs("/a/..").ok());
  EXPECT_EQ(ParseTmpfs("/x:bogus").status().message(), "invalid tmpfs option \"bogus\"");
  EXPECT_EQ(ParseTmpfs("/x:color=red").status().message(), "invalid tmpfs option \"color=red\"");
}

}  // namespace
}  // namespace berth::ctl
