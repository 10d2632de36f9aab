// `inspect` of a container: the record, its spec and its state shaped as Docker's
// ContainerJSON, with Docker's key order, so that scripts written for `docker inspect` (and
// --format '{{.State.Status}}') work. Mounts lists volumes and binds; NetworkSettings is
// present and empty.
#ifndef BERTH_CTL_CONTAINER_INSPECT_H_
#define BERTH_CTL_CONTAINER_INSPECT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "berth/services/containers/v1/containers.pb.h"
#include "ctl/container/format.h"

namespace berth::ctl {

struct InspectInput {
  berth::services::containers::v1::Container record;
  ContainerState state;
  uint32_t pid = 0;             // of the running init; 0 otherwise
  std::string image_id;         // the image's config digest; "" if unknown
  nlohmann::json image_config;  // the image's OCI config document; null if unknown
};

// Docker's ContainerJSON. Config.Entrypoint is the image's when the command starts with it;
// Config.Labels leaves out berth's own berth.io/* keys, shown in State and HostConfig.
nlohmann::ordered_json ContainerInspect(const InspectInput& in);

// "0001-01-01T00:00:00Z" for a time that never was, as Go's zero time.Time.
std::string InspectTime(const absl::optional<absl::Time>& t);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_INSPECT_H_
