// Unpack: an image becomes a chain of committed snapshots named by chain ID
// (chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln))), so
// images that share lower layers share their snapshots, and a layer already unpacked is
// skipped. It talks to the snapshots and diff services only through their gRPC stubs, so the
// snapshotter may be a proxy plugin in another process.
#ifndef BERTH_SERVICES_IMAGES_UNPACK_H_
#define BERTH_SERVICES_IMAGES_UNPACK_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "berth/services/diff/v1/diff.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "services/content/content_store.h"
#include "services/images/oci.h"

namespace berth::images {

// Label on each committed layer snapshot: its diff_id.
inline constexpr char kUncompressedLabel[] = "berth.io/snapshot/uncompressed";
// Label on each committed layer snapshot, and on the layer's blob in the content store once it
// has been unpacked: the size in bytes of the uncompressed layer tar (what `berth images`
// adds up as an image's SIZE, as Docker shows the unpacked size).
inline constexpr char kSnapshotUncompressedSizeLabel[] = "berth.io/snapshot/uncompressed-size";
inline constexpr char kContentUncompressedSizeLabel[] = "berth.io/uncompressed-size";
// Label on the layer's blob once unpacked: its diff_id (containerd's containerd.io/uncompressed).
inline constexpr char kContentUncompressedLabel[] = "berth.io/uncompressed";

std::string ChainId(const std::string& parent_chain, const std::string& diff_id);

struct UnpackResult {
  std::string chain_id;  // the top layer's snapshot name
  int layers = 0;
  int unpacked = 0;  // layers applied now (the rest existed)
};

struct UnpackOptions {
  std::string ns;
  std::string snapshotter;  // empty: the service's default
  Platform platform;
  // For unpacking while a pull still downloads: called before the config is read and before
  // each layer not yet unpacked is applied; returns once that blob is in the store, or an
  // error that stops the unpack.
  std::function<absl::Status(const Descriptor& blob)> wait_for_blob;
  // Called after each layer is in place (applied now, or found already unpacked).
  std::function<void(const Descriptor& layer)> on_layer;
};

absl::StatusOr<UnpackResult> Unpack(
    ::berth::content::ContentStore& store, const Descriptor& target, const UnpackOptions& options,
    ::berth::services::snapshots::v1::Snapshots::StubInterface& snaps,
    ::berth::services::diff::v1::Diff::StubInterface& diff);

}  // namespace berth::images

#endif  // BERTH_SERVICES_IMAGES_UNPACK_H_
