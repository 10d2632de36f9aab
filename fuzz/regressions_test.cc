// Every seed (fuzz/corpus/<target>/) and every input that once crashed a fuzz target
// (fuzz/regressions/<target>/, named after what it found), replayed through the target built
// by Bazel with gcc: what the fuzzers found stays fixed even where clang is not installed.
// fuzz/run.sh replays the same inputs under ASan and UBSan before it fuzzes.
#include <dirent.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace berth::fuzz {
int FuzzApply(const uint8_t* data, size_t size);
int FuzzDockerfile(const uint8_t* data, size_t size);
int FuzzManifest(const uint8_t* data, size_t size);
int FuzzRuntimeSpec(const uint8_t* data, size_t size);
int FuzzShimPacket(const uint8_t* data, size_t size);
}  // namespace berth::fuzz

namespace {

using Target = int (*)(const uint8_t*, size_t);

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
  }
  closedir(d);
  return out;
}

// Replays every input of `name`; returns how many there were.
size_t Replay(const std::string& name, Target target) {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* workspace = getenv("TEST_WORKSPACE");
  const std::string base =
      srcdir && workspace ? std::string(srcdir) + "/" + workspace + "/fuzz" : "fuzz";
  size_t n = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    for (const std::string& file : Files(base + "/" + kind + "/" + name)) {
      SCOPED_TRACE(file);
      std::ifstream in(file, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string data = ss.str();
      EXPECT_EQ(target(reinterpret_cast<const uint8_t*>(data.data()), data.size()), 0);
      ++n;
    }
  }
  return n;
}

TEST(FuzzRegressions, Apply) { EXPECT_GT(Replay("apply", berth::fuzz::FuzzApply), 0u); }
TEST(FuzzRegressions, Dockerfile) {
  EXPECT_GT(Replay("dockerfile", berth::fuzz::FuzzDockerfile), 0u);
}
TEST(FuzzRegressions, Manifest) { EXPECT_GT(Replay("manifest", berth::fuzz::FuzzManifest), 0u); }
TEST(FuzzRegressions, RuntimeSpec) {
  EXPECT_GT(Replay("runtime_spec", berth::fuzz::FuzzRuntimeSpec), 0u);
}
TEST(FuzzRegressions, ShimPacket) { EXPECT_GT(Replay("shim", berth::fuzz::FuzzShimPacket), 0u); }

}  // namespace
