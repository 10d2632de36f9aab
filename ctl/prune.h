// What `container prune`, `image prune`, `system prune` and `system df` share: which stopped
// containers and unused images go, and how much disk that frees.
//
// Space reclaimed by images is measured, not estimated: the content store's total before and
// after (Images.Delete with sync collects the garbage before it answers). For containers it is
// the writable layers' usage (Snapshots.Usage) before removal.
#ifndef BERTH_CTL_PRUNE_H_
#define BERTH_CTL_PRUNE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "ctl/client.h"

namespace berth::ctl {

// Docker's prune filters: until=<time or duration>, label=k, label=k=v, label!=k[=v].
struct PruneFilter {
  absl::optional<absl::Time> until;
  std::vector<std::string> labels, not_labels;
  // INVALID_ARGUMENT "invalid filter 'x'" for other keys.
  static absl::StatusOr<PruneFilter> Parse(const std::vector<std::string>& args, absl::Time now);
  bool Match(const std::map<std::string, std::string>& labels, absl::Time created) const;
};

struct PruneReport {
  std::vector<std::string> lines;  // ids removed; "untagged: …"/"deleted: …" for images
  int64_t reclaimed = 0;           // bytes
  bool errors = false;             // some could not be removed (reported on stderr)
  // "<header>\n<line>\n…\n\n", or "" when nothing went: Docker's prune output.
  std::string Text(const std::string& header) const;
};

// Removes every container that is not running (and matches the filter).
absl::StatusOr<PruneReport> PruneContainers(Client& client, const PruneFilter& filter);

// Removes dangling images (names without a tag), or with `all` every image no container
// uses; images sharing a config with a used one stay.
absl::StatusOr<PruneReport> PruneImages(Client& client, const PruneFilter& filter, bool all);

// Bytes the content store holds.
absl::StatusOr<int64_t> ContentBytes(Client& client);

}  // namespace berth::ctl

#endif  // BERTH_CTL_PRUNE_H_
