#include "ctl/container/units.h"

#include "absl/strings/str_format.h"

namespace berth::ctl {
namespace {

std::string CustomSize(int precision, double size, double base, const char* const* units,
                       int count) {
  int i = 0;
  while (size >= base && i < count - 1) {
    size /= base;
    ++i;
  }
  return absl::StrFormat("%.*g%s", precision, size, units[i]);
}

}  // namespace

std::string HumanSizeWithPrecision(double bytes, int precision) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  return CustomSize(precision, bytes, 1000.0, kUnits, 9);
}

std::string HumanSize4(double bytes) { return HumanSizeWithPrecision(bytes, 4); }

std::string BytesSize(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  return CustomSize(4, bytes, 1024.0, kUnits, 9);
}

}  // namespace berth::ctl
