#include "ctl/table.h"

#include <gtest/gtest.h>

namespace berth::ctl {
namespace {

TEST(Table, PadsEveryColumnButTheLast) {
  EXPECT_EQ(FormatTable({{"REPOSITORY", "TAG", "SIZE"}, {"busybox", "latest", "1.2MB"}}),
            "REPOSITORY   TAG      SIZE\n"
            "busybox      latest   1.2MB\n");
}

TEST(Table, DockerStyleHasAMinimumWidth) {
  EXPECT_EQ(FormatTable({{"ID", "PORTS", "NAMES"}, {"abc", "", "x"}}, kDockerTableStyle),
            "ID        PORTS     NAMES\n"
            "abc                 x\n");
}

TEST(Table, WidthsCountCodePoints) {
  // "…" is three bytes and one column, as the tabwriter counts it.
  EXPECT_EQ(FormatTable({{"\"sh -c…\"", "x"}, {"abcdefghi", "y"}}),
            "\"sh -c…\"    x\n"
            "abcdefghi   y\n");
  EXPECT_EQ(TextWidth("a…b"), 3u);
}

TEST(Table, AlignTabsKeepsTextAfterTheLastTabUnpadded) {
  EXPECT_EQ(AlignTabs("a\tbb\nccc\td\n"), "a     bb\nccc   d\n");
  EXPECT_EQ(AlignTabs("a\tb"), "a   b");
  EXPECT_EQ(AlignTabs(""), "");
  EXPECT_EQ(AlignTabs("no tabs\n"), "no tabs\n");
}

TEST(Table, ColumnBlocksAreConsecutiveLinesAsInGo) {
  // The line without a tab ends the first block: the lines after it are aligned on their own.
  EXPECT_EQ(AlignTabs("a\tx\nlonger\ty\nbreak\nb\tz\n"),
            "a        x\n"
            "longer   y\n"
            "break\n"
            "b   z\n");
}

TEST(Table, RowsWithMoreCellsNestBlocks) {
  EXPECT_EQ(AlignTabs("a\tb\tc\naa\tb\n"), "a    b   c\naa   b\n");
}

}  // namespace
}  // namespace berth::ctl
