// Aligned columns the way Docker's CLI prints them: Go's text/tabwriter with spaces. Shared by
// every verb that prints a table (images, ps, …) and by `--format "table …"` templates.
#ifndef BERTH_CTL_TABLE_H_
#define BERTH_CTL_TABLE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace berth::ctl {

struct TableStyle {
  // A column is as wide as its widest cell plus `padding`, and at least `min_width`.
  size_t min_width = 0;
  size_t padding = 3;
};

// Docker's formatter (tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)): `ps`, `--format table`.
inline constexpr TableStyle kDockerTableStyle = {10, 3};

// Lays out tab-separated text as Go's tabwriter does: cells are tab-terminated, so the text
// after a line's last tab is not part of any column and is never padded; a column spans the
// consecutive lines that have a cell in it. Widths count UTF-8 code points, not bytes.
std::string AlignTabs(absl::string_view text, TableStyle style = {});

// Rows of cells, every cell but each row's last padded to its column.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows, TableStyle style = {});

// FormatTable to stdout.
void PrintTable(const std::vector<std::vector<std::string>>& rows, TableStyle style = {});

// Display width as the tabwriter counts it: UTF-8 code points.
size_t TextWidth(absl::string_view text);

}  // namespace berth::ctl

#endif  // BERTH_CTL_TABLE_H_
