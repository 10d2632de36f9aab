// The volume side of the CLI: the volumes service's calls with Docker's messages, the volume
// flags of `run`/`create` turned into mounts (volumes created on first use), and the removal
// of a container's anonymous volumes (`rm -v`).
#ifndef BERTH_CTL_VOLUME_API_H_
#define BERTH_CTL_VOLUME_API_H_

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "berth/services/containers/v1/containers.pb.h"
#include "berth/services/volumes/v1/volumes.grpc.pb.h"
#include "ctl/client.h"

namespace CLI {
class App;
}

namespace berth::ctl {

class ContainerApi;

// Labels on the container record (services/volumes/local.h has the daemon's copy): the
// volumes it mounts, and those made for it alone, comma-separated.
inline constexpr char kLabelVolumes[] = "berth.io/volumes";
inline constexpr char kLabelAnonymousVolumes[] = "berth.io/anonymous-volumes";

// -v, --mount and --volumes-from as typed.
struct VolumeFlags {
  std::vector<std::string> volumes, mounts, volumes_from;
};
void AddVolumeFlags(CLI::App* cmd, VolumeFlags* flags);

class VolumeApi {
 public:
  explicit VolumeApi(Client& client);
  using Volume = berth::services::volumes::v1::Volume;

  // An empty name makes an anonymous volume. A volume that exists is returned as it is.
  absl::StatusOr<Volume> Create(const std::string& name, const std::string& driver = "",
                                const std::map<std::string, std::string>& labels = {},
                                const std::map<std::string, std::string>& options = {});
  // NOT_FOUND "No such volume: NAME".
  absl::StatusOr<Volume> Inspect(const std::string& name);
  // Filters in the service's syntax (ListVolumesRequest).
  absl::StatusOr<std::vector<Volume>> List(const std::vector<std::string>& filters = {});
  // FAILED_PRECONDITION "remove NAME: volume is in use - [ids]" unless `force`.
  absl::Status Remove(const std::string& name, bool force = false);
  absl::StatusOr<berth::services::volumes::v1::PruneVolumesResponse> Prune(
      const std::vector<std::string>& filters);

 private:
  Client& client_;
  std::unique_ptr<berth::services::volumes::v1::Volumes::Stub> stub_;
};

// Removes, when it goes, the anonymous volumes AddVolumes made, unless the container they
// were made for exists by then: so a `create` that fails after them leaves none behind.
class VolumeGuard {
 public:
  VolumeGuard(Client& client, std::string container_id)
      : client_(client), container_id_(std::move(container_id)) {}
  ~VolumeGuard();
  VolumeGuard(const VolumeGuard&) = delete;
  VolumeGuard& operator=(const VolumeGuard&) = delete;
  void Add(const std::string& anonymous_volume) { anonymous_.push_back(anonymous_volume); }

 private:
  Client& client_;
  std::string container_id_;
  std::vector<std::string> anonymous_;
};

// For `create`: --volumes-from, -v, --mount and the image's VOLUMEs (anonymous, unless
// something else is mounted there) become mounts in `spec` (replacing defaults at the same
// place); named volumes are created on first use, anonymous ones for this container. The
// record's labels get kLabelVolumes and kLabelAnonymousVolumes. A bind's host path must exist
// (on the host this command runs on). Errors read as Docker's.
absl::StatusOr<std::unique_ptr<VolumeGuard>> AddVolumes(Client& client,
                                                        const nlohmann::json& image_config,
                                                        const VolumeFlags& flags,
                                                        const std::string& container_id,
                                                        nlohmann::json* spec,
                                                        std::map<std::string, std::string>* labels);

// `rm -v` and `run --rm` when the CLI removes the container itself: the anonymous volumes
// the record names go (ones still used by another container stay, as in Docker). Call it
// after the container record is deleted.
absl::Status RemoveAnonymousVolumes(ContainerApi& api,
                                    const berth::services::containers::v1::Container& c);

}  // namespace berth::ctl

#endif  // BERTH_CTL_VOLUME_API_H_
