// What the container verbs beyond run/start share (ps, stop, rm, logs, inspect, prune…): the
// connection, images as `ps` shows them, the disk a snapshot uses, starting a stopped
// container again, and Docker's [y/N] prompt. Over the public API only, like container_api.h.
#ifndef BERTH_CTL_CONTAINER_QUERY_H_
#define BERTH_CTL_CONTAINER_QUERY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ctl/client.h"
#include "ctl/container_api.h"
#include "ctl/image_info.h"

namespace berth::ctl {

// Client::Create and Connect.
absl::StatusOr<std::unique_ptr<Client>> ConnectClient(const GlobalOptions& global);

// The image as `docker ps` shows what a user typed: "busybox" for
// docker.io/library/busybox:latest, "busybox:1.36", "localhost:5000/app:v1".
std::string DisplayImage(const std::string& image);

// The value of a label, "" when absent.
std::string LabelOf(const berth::services::containers::v1::Container& c, const std::string& key);

// Bytes the container's own (writable) layer uses; 0 when the snapshotter cannot tell.
int64_t SnapshotUsage(Client& client, const berth::services::containers::v1::Container& c);

// Images by name, described once (config digest, size) for the verbs that show many
// containers' images. A name that cannot be described is absent.
class ImageCache {
 public:
  explicit ImageCache(Client& client) : client_(client) {}
  const ImageDetails* Get(const std::string& name);

  // The ID of the image `c` was made from: the one recorded at create (RecordedImageId), else
  // its image name's current one; "" when neither is known.
  std::string IdOf(const berth::services::containers::v1::Container& c);

  // The image `c` was made from, looked up by its recorded ID (so a name that moved to
  // another image is not mistaken for it), else by its image name. Null when it is gone.
  const ImageDetails* ImageOf(const berth::services::containers::v1::Container& c);

 private:
  Client& client_;
  std::map<std::string, absl::StatusOr<ImageDetails>> cache_;
};

// View, except that a managed container whose task the daemon is deleting is shown once its
// exit is on the record (up to `settle`): between the two, the record still shows the run
// before.
absl::StatusOr<ContainerView> SettledView(ContainerApi& api, const std::string& ref,
                                          absl::Duration settle = absl::Seconds(10));

// Starts a stopped container as `start` does: its last task (if any) goes, "stopped by hand"
// is cleared, a new task is created on its snapshot and started. For a container the daemon
// manages, first waits (up to `settle`) for the daemon to have dealt with the last exit (task
// deleted, its directory cleaned up, the exit recorded), so that the two never act on the
// same task or the same task directory.
absl::Status StartStopped(ContainerApi& api, const ContainerView& v,
                          absl::Duration settle = absl::Seconds(10));

// Reports `st` as "berth: <message>" on stderr and returns 1: Docker's CLI exits 1 for every
// failure of these verbs, bad filters, templates and times included. 125 is left to what
// cannot be parsed as a command line at all (cli.cc) and to run/create (ReportError).
int Failed(const absl::Status& st);

// Docker's PromptForConfirmation: prints "<message> [y/N] " and reads a line from stdin;
// true for "y" or "Y".
bool Confirm(const std::string& message);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_QUERY_H_
