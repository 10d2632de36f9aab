#include "ctl/transfer_display.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace berth::ctl {
namespace {

TEST(ProgressBar, DrawsFiftyCellsAndTheCounts) {
  EXPECT_EQ(ProgressBar(0, 40'000'000), "[>" + std::string(49, ' ') + "]  0B/40MB");
  EXPECT_EQ(ProgressBar(12'000'000, 40'000'000),
            "[" + std::string(15, '=') + ">" + std::string(34, ' ') + "]  12MB/40MB");
  EXPECT_EQ(ProgressBar(40'000'000, 40'000'000), "[" + std::string(50, '=') + "]  40MB/40MB");
  // Out of range (a retry, a server that counts past the end): the bar stays in its box.
  EXPECT_EQ(ProgressBar(50, 10), "[" + std::string(50, '=') + "]  50B/10B");
  EXPECT_EQ(ProgressBar(-5, 10), "[>" + std::string(49, ' ') + "]  -5B/10B");
  EXPECT_EQ(ProgressBar(3, 0), "[" + std::string(50, ' ') + "]  3B/0B");
}

// What a display wrote, read back from a memory stream.
class Captured {
 public:
  Captured() : f_(open_memstream(&buf_, &size_)) {}
  ~Captured() {
    if (f_ != nullptr) std::fclose(f_);
    std::free(buf_);
  }
  std::FILE* file() { return f_; }
  std::string text() {
    std::fflush(f_);
    return std::string(buf_, size_);
  }

 private:
  char* buf_ = nullptr;
  size_t size_ = 0;
  std::FILE* f_;
};

TEST(TransferDisplay, PlainOutputIsOneLinePerChangeOfState) {
  Captured out;
  TransferDisplay d(out.file(), /*tty=*/false);
  d.Update("aaaa", "Loading", 1, 10, true);
  d.Update("aaaa", "Loading", 5, 10, true);  // bytes alone: no new line
  d.Update("bbbb", "Loading", 0, 10, true);
  d.Update("aaaa", "Loaded 10B");
  d.Print("Loaded image: x:1");
  EXPECT_EQ(out.text(), "aaaa: Loading\nbbbb: Loading\naaaa: Loaded 10B\nLoaded image: x:1\n");
}

TEST(TransferDisplay, TerminalOutputRedrawsEachBlobsLine) {
  Captured out;
  TransferDisplay d(out.file(), /*tty=*/true, /*columns=*/200);
  d.Update("aaaa", "Loading", 0, 10, true);
  d.Update("bbbb", "Loading", 0, 10, true);
  const size_t before = out.text().size();
  d.Update("aaaa", "Loading", 5, 10, true);
  // Two lines up, clear, redraw, two lines down.
  EXPECT_EQ(out.text().substr(before),
            "\033[2A\r\033[Kaaaa: Loading " + ProgressBar(5, 10) + "\r\033[2B");
}

TEST(TransferDisplay, TerminalLinesAreCutToTheWidth) {
  Captured out;
  TransferDisplay d(out.file(), /*tty=*/true, /*columns=*/20);
  d.Update("aaaa", "Loading", 5, 10, true);
  EXPECT_EQ(out.text(), "aaaa: Loading [====\n");
}

}  // namespace
}  // namespace berth::ctl
