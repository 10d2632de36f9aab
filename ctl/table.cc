#include "ctl/table.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace berth::ctl {
namespace {

using Line = std::vector<std::string>;

// Go's tabwriter.format: find the column blocks at depth widths.size(), fix each block's
// width, recurse for the columns to its right; lines are written once every width they need
// is known.
class Aligner {
 public:
  Aligner(std::vector<Line> lines, TableStyle style) : lines_(std::move(lines)), style_(style) {}

  std::string Run() {
    Format(0, lines_.size());
    return std::move(out_);
  }

 private:
  void Format(size_t line0, size_t line1) {
    const size_t column = widths_.size();
    for (size_t cur = line0; cur < line1; ++cur) {
      if (column + 1 >= lines_[cur].size()) continue;
      // A block of lines that have a cell in this column starts here.
      WriteLines(line0, cur);
      line0 = cur;
      size_t width = style_.min_width;
      for (; cur < line1 && column + 1 < lines_[cur].size(); ++cur) {
        width = std::max(width, TextWidth(lines_[cur][column]) + style_.padding);
      }
      widths_.push_back(width);
      Format(line0, cur);
      widths_.pop_back();
      line0 = cur;
      // The loop's ++cur skips the line that ended the block: it has no cell in this column.
    }
    WriteLines(line0, line1);
  }

  void WriteLines(size_t line0, size_t line1) {
    for (size_t i = line0; i < line1; ++i) {
      const Line& line = lines_[i];
      for (size_t j = 0; j < line.size(); ++j) {
        out_ += line[j];
        if (j < widths_.size()) {
          const size_t w = TextWidth(line[j]);
          if (widths_[j] > w) out_.append(widths_[j] - w, ' ');
        }
      }
      out_ += '\n';
    }
  }

  std::vector<Line> lines_;
  TableStyle style_;
  std::vector<size_t> widths_;
  std::string out_;
};

}  // namespace

size_t TextWidth(absl::string_view text) {
  // Every byte that does not continue a UTF-8 sequence starts a code point.
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

std::string AlignTabs(absl::string_view text, TableStyle style) {
  const bool trailing_newline = !text.empty() && text.back() == '\n';
  if (trailing_newline) text.remove_suffix(1);
  if (text.empty()) return trailing_newline ? "\n" : "";
  std::vector<Line> lines;
  for (absl::string_view l : absl::StrSplit(text, '\n')) {
    lines.push_back(absl::StrSplit(l, '\t'));
  }
  std::string out = Aligner(std::move(lines), style).Run();
  if (!trailing_newline) out.pop_back();
  return out;
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows, TableStyle style) {
  std::string text;
  for (const auto& row : rows) absl::StrAppend(&text, absl::StrJoin(row, "\t"), "\n");
  return AlignTabs(text, style);
}

void PrintTable(const std::vector<std::vector<std::string>>& rows, TableStyle style) {
  const std::string text = FormatTable(rows, style);
  std::fwrite(text.data(), 1, text.size(), stdout);
}

}  // namespace berth::ctl
