// Progress reports shared by pull and push: one per blob (or image) and state change, from
// several download or upload threads at once (the callback must be thread-safe).
#ifndef BERTH_SERVICES_IMAGES_TRANSFER_H_
#define BERTH_SERVICES_IMAGES_TRANSFER_H_

#include <cstdint>
#include <functional>
#include <string>

namespace berth::images {

struct TransferProgress {
  std::string ref;  // a blob digest, or the image name
  // pull: "resolved", "waiting", "downloading", "retrying", "verifying", "done", "exists"
  // push: "preparing", "pushing", "pushed", "exists", "mounted"
  std::string status;
  int64_t offset = 0;
  int64_t total = 0;
  // "layer", "config", "manifest", "index"; or a detail ("retrying": the error).
  std::string message;
};

using TransferProgressFn = std::function<void(const TransferProgress&)>;

// Label naming where a blob was pulled from, per registry, as containerd keeps it:
// berth.io/distribution.source.<registry host> = <repository path>. Push uses it to ask the
// registry to mount the blob from that repository rather than upload it.
inline constexpr char kDistributionSourceLabel[] = "berth.io/distribution.source.";

}  // namespace berth::images

#endif  // BERTH_SERVICES_IMAGES_TRANSFER_H_
