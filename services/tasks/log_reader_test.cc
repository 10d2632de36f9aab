#include "services/tasks/log_reader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace berth::tasks {
namespace {

std::string Line(const std::string& stream, const std::string& text, int second) {
  return absl::StrCat("{\"log\":\"", text, "\\n\",\"stream\":\"", stream,
                      "\",\"time\":\"2026-11-28T10:00:", second < 10 ? "0" : "", second,
                      ".000000001Z\"}\n");
}

class LogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/logreader-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/log.json";
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  void Append(const std::string& file, const std::string& text) {
    std::ofstream(file, std::ios::app) << text;
  }
  std::vector<LogLine> Read(const LogQuery& q) {
    std::vector<LogLine> all;
    ReadLog(path_, q, [&](std::vector<LogLine>&& b) {
      for (auto& l : b) all.push_back(l);
      return true;
    });
    return all;
  }
  std::string dir_, path_;
};

TEST_F(LogReaderTest, ParsesDockerJsonLinesAndSkipsTornOnes) {
  absl::optional<LogLine> l =
      ParseLogLine(R"({"log":"hi\n","stream":"stderr","time":"2026-11-28T10:00:01.5Z"})");
  ASSERT_TRUE(l.has_value());
  EXPECT_TRUE(l->stderr_stream);
  EXPECT_EQ(l->data, "hi\n");
  EXPECT_FALSE(l->partial);
  EXPECT_EQ(absl::ToUnixMillis(l->time) % 1000, 500);
  EXPECT_FALSE(ParseLogLine(R"({"log":"x","stream":"stdout","ti)").has_value());
  EXPECT_TRUE(
      ParseLogLine(R"({"log":"x","stream":"stdout","time":"2026-11-28T10:00:01Z"})")->partial);
}

TEST_F(LogReaderTest, ReadsRotatedFilesOldestFirstWithTailSinceAndStreams) {
  Append(path_ + ".2", Line("stdout", "one", 1));
  Append(path_ + ".1", Line("stderr", "two", 2));
  Append(path_, Line("stdout", "three", 3) + Line("stdout", "four", 4));
  std::vector<LogLine> all = Read({});
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].data, "one\n");
  EXPECT_EQ(all[3].data, "four\n");

  LogQuery tail;
  tail.tail = 2;
  std::vector<LogLine> last = Read(tail);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].data, "three\n");

  LogQuery err;
  err.want_stdout = false;
  ASSERT_EQ(Read(err).size(), 1u);

  LogQuery since;
  since.since = absl::FromUnixSeconds(0) + (all[2].time - absl::FromUnixSeconds(0));
  EXPECT_EQ(Read(since).size(), 2u);
}

TEST_F(LogReaderTest, FollowerPicksUpWhereTheReadStoppedAndSurvivesRotation) {
  Append(path_, Line("stdout", "old", 1));
  LogPosition end = ReadLog(path_, {}, [](std::vector<LogLine>&&) { return true; });
  // Half a line, then the rest: the follower returns it once whole.
  std::string next = Line("stdout", "new", 2);
  Append(path_, next.substr(0, 10));
  LogFollower f(path_, end);
  EXPECT_TRUE(f.Poll().empty());
  Append(path_, next.substr(10));
  std::vector<LogLine> got = f.Poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, "new\n");

  // The writer rotates: log.json → log.json.1, fresh log.json.
  Append(path_, Line("stdout", "before-rotate", 3));
  ASSERT_EQ(std::rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  Append(path_, Line("stdout", "after-rotate", 4));
  got = f.Poll();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].data, "before-rotate\n");
  EXPECT_EQ(got[1].data, "after-rotate\n");
}

}  // namespace
}  // namespace berth::tasks
