#include "ctl/container/detach_keys.h"

#include <gtest/gtest.h>

namespace berth::ctl {
namespace {

TEST(ParseDetachKeys, DockerSyntax) {
  EXPECT_EQ(*ParseDetachKeys("ctrl-p,ctrl-q"), "\x10\x11");
  EXPECT_EQ(*ParseDetachKeys(kDefaultDetachKeys), "\x10\x11");
  EXPECT_EQ(*ParseDetachKeys("a"), "a");
  EXPECT_EQ(*ParseDetachKeys("ctrl-a,x"), "\x01x");
  EXPECT_EQ(*ParseDetachKeys("ctrl-@"), std::string(1, '\0'));
  EXPECT_EQ(*ParseDetachKeys("ctrl-["), "\x1b");
  EXPECT_EQ(*ParseDetachKeys("ctrl-\\,ctrl-],ctrl-^,ctrl-_"), "\x1c\x1d\x1e\x1f");
  EXPECT_EQ(*ParseDetachKeys("ctrl-z"), "\x1a");
  EXPECT_EQ(*ParseDetachKeys("ctrl-P"), "\x10");
}

TEST(ParseDetachKeys, InvalidKeysAreNamed) {
  absl::StatusOr<std::string> k = ParseDetachKeys("ctrl-p,ctrl-1");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(k.status().message(), "invalid detach keys \"ctrl-p,ctrl-1\": unknown key 'ctrl-1'");
  EXPECT_FALSE(ParseDetachKeys("").ok());
  EXPECT_FALSE(ParseDetachKeys("ctrl-p,,ctrl-q").ok());
  EXPECT_FALSE(ParseDetachKeys("ab").ok());
  EXPECT_FALSE(ParseDetachKeys("ctrl-").ok());
  EXPECT_FALSE(ParseDetachKeys("ctrl-pq").ok());
  EXPECT_FALSE(ParseDetachKeys("alt-x").ok());
}

TEST(DetachMatcher, DetachesOnTheSequenceTypedKeyByKey) {
  DetachMatcher m("\x10\x11");
  DetachMatcher::Result r = m.Feed("l");
  EXPECT_EQ(r.forward, "l");
  EXPECT_FALSE(r.detach);
  r = m.Feed("\x10");
  EXPECT_EQ(r.forward, "");  // held: it may be the start of the sequence
  EXPECT_FALSE(r.detach);
  r = m.Feed("\x11");
  EXPECT_EQ(r.forward, "");
  EXPECT_TRUE(r.detach);
  // Nothing more reaches the container.
  r = m.Feed("more");
  EXPECT_EQ(r.forward, "");
  EXPECT_TRUE(r.detach);
}

TEST(DetachMatcher, PartialSequencesPassThroughAsTyped) {
  DetachMatcher m("\x10\x11");
  EXPECT_EQ(m.Feed("\x10").forward, "");
  DetachMatcher::Result r = m.Feed("x");
  EXPECT_EQ(r.forward, "\x10x");
  EXPECT_FALSE(r.detach);
  // ctrl-p twice: the first goes through, the second may still start the sequence.
  EXPECT_EQ(m.Feed("\x10\x10").forward, "\x10");
  r = m.Feed("\x11");
  EXPECT_TRUE(r.detach);
}

TEST(DetachMatcher, FindsTheSequenceInsideAChunk) {
  DetachMatcher m("\x10\x11");
  DetachMatcher::Result r = m.Feed("ls\n\x10\x11rm -rf\n");
  EXPECT_EQ(r.forward, "ls\n");
  EXPECT_TRUE(r.detach);
}

TEST(DetachMatcher, OverlappingPrefixesStillMatch) {
  DetachMatcher m("aab");
  DetachMatcher::Result r = m.Feed("aaab");
  EXPECT_EQ(r.forward, "a");
  EXPECT_TRUE(r.detach);
}

TEST(DetachMatcher, FlushReturnsAnIncompleteSequence) {
  DetachMatcher m("\x10\x11");
  EXPECT_EQ(m.Feed("a\x10").forward, "a");
  EXPECT_EQ(m.Flush(), "\x10");
  EXPECT_EQ(m.Flush(), "");
}

TEST(DetachMatcher, EmptySequenceNeverDetaches) {
  DetachMatcher m("");
  DetachMatcher::Result r = m.Feed("\x10\x11");
  EXPECT_EQ(r.forward, "\x10\x11");
  EXPECT_FALSE(r.detach);
}

TEST(DetachMatcher, SingleKey) {
  DetachMatcher m("q");
  DetachMatcher::Result r = m.Feed("abq");
  EXPECT_EQ(r.forward, "ab");
  EXPECT_TRUE(r.detach);
}

}  // namespace
}  // namespace berth::ctl
