#include "ctl/transfer_display.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ctl/image_format.h"

namespace berth::ctl {

std::string ProgressBar(int64_t offset, int64_t total) {
  constexpr int kWidth = 50;
  std::string bar(kWidth, ' ');
  if (total > 0) {
    const int64_t shown = std::clamp<int64_t>(offset, 0, total);
    const int done = static_cast<int>(shown * kWidth / total);
    for (int i = 0; i < done; ++i) bar[i] = '=';
    if (done < kWidth) bar[done] = '>';
  }
  return absl::StrCat("[", bar, "]  ", HumanSize(offset), "/", HumanSize(total));
}

TransferDisplay::TransferDisplay(std::FILE* out, bool tty, int columns)
    : out_(out), tty_(tty), columns_(columns) {
  struct winsize ws;
  if (tty_ && columns_ == 0 && ioctl(fileno(out_), TIOCGWINSZ, &ws) == 0) columns_ = ws.ws_col;
}

std::string TransferDisplay::Render(const std::string& id, const std::string& status,
                                    int64_t offset, int64_t total, bool bar) const {
  std::string line = absl::StrCat(id, ": ", status);
  if (bar && total > 0) absl::StrAppend(&line, " ", ProgressBar(offset, total));
  // A line that wrapped would take two rows, and the redraw counts one row per blob.
  if (tty_ && columns_ > 1 && line.size() >= static_cast<size_t>(columns_)) {
    line.resize(static_cast<size_t>(columns_) - 1);
  }
  return line;
}

void TransferDisplay::Update(const std::string& id, const std::string& status, int64_t offset,
                             int64_t total, bool bar) {
  auto it = std::find(order_.begin(), order_.end(), id);
  const bool is_new = it == order_.end();
  if (!tty_) {
    // Byte counts would be a line per chunk: plain output shows changes of state only.
    if (!is_new && last_[id] == status) return;
    if (is_new) order_.push_back(id);
    last_[id] = status;
    std::fprintf(out_, "%s\n", Render(id, status, offset, total, false).c_str());
    std::fflush(out_);
    return;
  }
  const std::string line = Render(id, status, offset, total, bar);
  if (is_new) {
    order_.push_back(id);
    std::fprintf(out_, "%s\n", line.c_str());
  } else {
    // Up to the blob's line, redraw it, and back down below the last line.
    const size_t up = order_.size() - static_cast<size_t>(it - order_.begin());
    std::fprintf(out_, "\033[%zuA\r\033[K%s\r\033[%zuB", up, line.c_str(), up);
  }
  last_[id] = status;
  std::fflush(out_);
}

void TransferDisplay::Print(const std::string& text) {
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

}  // namespace berth::ctl
