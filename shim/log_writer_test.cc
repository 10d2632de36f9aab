#include "shim/log_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace berth::shim {
namespace {

class LogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") + "/logXXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  std::string Read(const std::string& name) {
    std::stringstream s;
    s << std::ifstream(dir_ + "/" + name).rdbuf();
    return s.str();
  }
  bool Exists(const std::string& name) { return access((dir_ + "/" + name).c_str(), F_OK) == 0; }
  std::string dir_;
};

TEST_F(LogWriterTest, WritesJsonLinesWithoutLimits) {
  LogWriter w;
  ASSERT_TRUE(w.Open(dir_ + "/log.json").ok());
  w.Write("stdout", "a\"b\nc");
  w.Write("stderr", "e\n");
  w.Flush("stdout");
  const std::string log = Read("log.json");
  EXPECT_NE(log.find(R"({"log":"a\"b\n","stream":"stdout","time":")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"({"log":"e\n","stream":"stderr")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"({"log":"c","stream":"stdout")"), std::string::npos) << log;
  EXPECT_FALSE(Exists("log.json.1"));
}

TEST_F(LogWriterTest, RotatesKeepingMaxFilesNewestInLogJson) {
  LogWriter w;
  // Each record is 77 bytes: two fit in 160, three do not.
  ASSERT_TRUE(w.Open(dir_ + "/log.json", {.max_size = 160, .max_files = 3}).ok());
  for (int i = 1; i <= 10; ++i) w.Write("stdout", "line-" + std::to_string(i) + "\n");
  EXPECT_NE(Read("log.json").find("line-9\\n"), std::string::npos);
  EXPECT_NE(Read("log.json").find("line-10"), std::string::npos);
  EXPECT_NE(Read("log.json.1").find("line-7"), std::string::npos);
  EXPECT_NE(Read("log.json.1").find("line-8"), std::string::npos);
  EXPECT_NE(Read("log.json.2").find("line-5"), std::string::npos);
  EXPECT_NE(Read("log.json.2").find("line-6"), std::string::npos);
  EXPECT_FALSE(Exists("log.json.3"));
  for (const char* f : {"log.json", "log.json.1", "log.json.2"}) {
    EXPECT_LE(Read(f).size(), 160u) << f;
  }
}

TEST_F(LogWriterTest, OneFileInAllStartsOverAndAnOversizedRecordStillGoesIn) {
  LogWriter w;
  ASSERT_TRUE(w.Open(dir_ + "/log.json", {.max_size = 100, .max_files = 1}).ok());
  w.Write("stdout", "first\n");
  w.Write("stdout", std::string(300, 'x') + "\n");
  EXPECT_EQ(Read("log.json").find("first"), std::string::npos);
  EXPECT_NE(Read("log.json").find(std::string(300, 'x')), std::string::npos);
  EXPECT_FALSE(Exists("log.json.1"));
}

TEST_F(LogWriterTest, CountsWhatIsAlreadyInTheFile) {
  std::ofstream(dir_ + "/log.json") << std::string(90, '#') << "\n";
  LogWriter w;
  ASSERT_TRUE(w.Open(dir_ + "/log.json", {.max_size = 100, .max_files = 2}).ok());
  w.Write("stdout", "new\n");
  EXPECT_EQ(Read("log.json.1"), std::string(90, '#') + "\n");
  EXPECT_NE(Read("log.json").find("new"), std::string::npos);
}

}  // namespace
}  // namespace berth::shim
