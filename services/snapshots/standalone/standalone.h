// berth-snapshotter: serves ONE built-in snapshotter (overlayfs or native) over the snapshots
// API on a unix socket, so berthd can use it as a proxy plugin (`proxy_snapshotters:`), and so
// that plugin authors have a working reference server to compare theirs with.
//
//   berth-snapshotter --type overlayfs|native --root DIR --address unix:///PATH
//                     [--log-level LEVEL]
//
// Keys are served as they arrive (not namespaced again): the berthd in front has already put
// them in their namespace. Requests may name the snapshotter by its type or leave it empty.
#ifndef BERTH_SERVICES_SNAPSHOTS_STANDALONE_STANDALONE_H_
#define BERTH_SERVICES_SNAPSHOTS_STANDALONE_STANDALONE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshots_standalone {

// Opens the built-in snapshotter `type` ("overlayfs" or "native") at `root`.
absl::StatusOr<std::shared_ptr<::berth::snapshotter::Snapshotter>> OpenBuiltin(
    const std::string& type, const std::string& root);

int Main(int argc, char** argv);

}  // namespace berth::snapshots_standalone

#endif  // BERTH_SERVICES_SNAPSHOTS_STANDALONE_STANDALONE_H_
