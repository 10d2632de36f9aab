// Sizes as go-units prints them in Docker's CLI: HumanSizeWithPrecision (decimal: "4.26MB",
// `system df`, "Total reclaimed space", `stats` BLOCK I/O) and BytesSize (binary: "1.5MiB",
// `stats` MEM USAGE / LIMIT). ctl/image_format.h's HumanSize is the 3-digit form `images` uses.
#ifndef BERTH_CTL_CONTAINER_UNITS_H_
#define BERTH_CTL_CONTAINER_UNITS_H_

#include <string>

namespace berth::ctl {

// go-units HumanSizeWithPrecision: powers of 1000, B kB MB GB TB PB EB ZB YB, `precision`
// significant digits (Go's %.Ng).
std::string HumanSizeWithPrecision(double bytes, int precision);

// go-units HumanSize: HumanSizeWithPrecision(bytes, 4).
std::string HumanSize4(double bytes);

// go-units BytesSize: powers of 1024, B KiB MiB GiB TiB PiB EiB ZiB YiB, 4 significant digits.
std::string BytesSize(double bytes);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_UNITS_H_
