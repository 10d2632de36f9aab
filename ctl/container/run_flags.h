// Values of `run`/`create` flags that need parsing: -m, --cpus, --tmpfs.
#ifndef BERTH_CTL_CONTAINER_RUN_FLAGS_H_
#define BERTH_CTL_CONTAINER_RUN_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::ctl {

// `-m 512m`: go-units' RAMInBytes. A decimal number, an optional space, then an optional unit
// b, k, m, g, t or p (binary: k = 1024), optionally followed by "i" and/or "b", any case:
// "1024", "1.5g", "64MiB", "10 kb". INVALID_ARGUMENT "invalid size: 'x'" otherwise.
absl::StatusOr<int64_t> ParseMemoryBytes(absl::string_view text);

// `--cpus 1.5` → 1500000000 nano-CPUs: a decimal with at most 9 fractional digits
// ("failed to parse x as a rational number", "value is too precise").
absl::StatusOr<int64_t> ParseNanoCpus(absl::string_view text);

struct TmpfsMount {
  std::string destination;
  std::vector<std::string> options;
};

// `--tmpfs /run[:opts]`: an absolute destination other than "/", and Docker's options: the
// defaults noexec, nosuid, nodev, rprivate merged with the given ones, a later option
// replacing an earlier one of the same kind (exec over noexec, size= over size=).
// INVALID_ARGUMENT for a relative path or an option tmpfs does not take.
absl::StatusOr<TmpfsMount> ParseTmpfs(absl::string_view flag);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_RUN_FLAGS_H_
