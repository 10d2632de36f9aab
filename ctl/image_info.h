// What the CLI shows about an image beyond its record: its config (IMAGE ID is the config's
// digest, CREATED comes from it) and its unpacked size, read from the content service.
#ifndef BERTH_CTL_IMAGE_INFO_H_
#define BERTH_CTL_IMAGE_INFO_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "berth/services/images/v1/images.pb.h"
#include "ctl/client.h"

namespace berth::ctl {

struct ImageDetails {
  std::string id;               // config digest
  std::string manifest_digest;  // the host platform's manifest
  absl::optional<absl::Time> created;
  // The layers' uncompressed sizes, as Docker shows an image's size: what unpacking
  // recorded, or the stored size of a layer not unpacked yet.
  int64_t size = 0;
  nlohmann::json config;
};

// Reads the image's manifest (the host platform's, for an index) and config.
absl::StatusOr<ImageDetails> DescribeImage(Client& client,
                                           const berth::services::images::v1::Image& image);

}  // namespace berth::ctl

#endif  // BERTH_CTL_IMAGE_INFO_H_
