// The per-blob lines that `berth pull`, `berth push` and `berth load` print, as Docker's CLI
// prints them: on a terminal each blob keeps one line, redrawn in place (with a progress bar
// while bytes move) and cut to the terminal's width; otherwise each change of state is one
// plain line and byte counts are left out.
#ifndef BERTH_CTL_TRANSFER_DISPLAY_H_
#define BERTH_CTL_TRANSFER_DISPLAY_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace berth::ctl {

class TransferDisplay {
 public:
  // `columns`: the terminal's width (0: ask the terminal behind `out`, if any).
  TransferDisplay(std::FILE* out, bool tty, int columns = 0);

  // Sets the line of `id` to "ID: STATUS" (and a bar for offset/total when total > 0 and
  // `bar`). A line that is new goes below the others.
  void Update(const std::string& id, const std::string& status, int64_t offset = 0,
              int64_t total = 0, bool bar = false);
  // A line of its own, not tied to a blob ("Digest: …").
  void Print(const std::string& text);

 private:
  std::string Render(const std::string& id, const std::string& status, int64_t offset,
                     int64_t total, bool bar) const;

  std::FILE* out_;
  const bool tty_;
  int columns_ = 0;                          // 0: unknown, lines are not cut
  std::vector<std::string> order_;           // ids in the order their lines appeared
  std::map<std::string, std::string> last_;  // id → the status last printed
};

// "[=====>          ]  1.2MB/4.5MB": 50 cells, as Docker's; offset is clamped to 0..total.
std::string ProgressBar(int64_t offset, int64_t total);

}  // namespace berth::ctl

#endif  // BERTH_CTL_TRANSFER_DISPLAY_H_
