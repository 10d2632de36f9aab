// The build service's view of the other services: every call goes through their gRPC stubs
// (in-process channels when berthd hosts them, sockets when config points elsewhere), in one
// namespace, and writes join the build's lease.
#ifndef BERTH_SERVICES_BUILD_BACKEND_H_
#define BERTH_SERVICES_BUILD_BACKEND_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/content/v1/content.grpc.pb.h"
#include "berth/services/diff/v1/diff.grpc.pb.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "berth/services/leases/v1/leases.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "snapshotter/snapshotter.h"

namespace berth::build {

using ChannelSource = std::function<std::shared_ptr<grpc::Channel>(const std::string&)>;
using Mounts = google::protobuf::RepeatedPtrField<::berth::types::v1::Mount>;

// API mounts as MountAll takes them.
std::vector<::berth::snapshotter::Mount> ToMounts(const Mounts& mounts);

class Backend {
 public:
  // FAILED_PRECONDITION naming a service that is neither hosted here nor configured remote.
  static absl::StatusOr<std::unique_ptr<Backend>> Connect(const ChannelSource& channels,
                                                          std::string ns, std::string snapshotter);

  const std::string& ns() const { return ns_; }
  const std::string& snapshotter() const { return snapshotter_; }
  // The lease later writes join ("" for none).
  void set_lease(std::string lease) { lease_ = std::move(lease); }

  // A context carrying the namespace (and the lease, when set).
  std::unique_ptr<grpc::ClientContext> Context() const;

  // Images. GetImage: NOT_FOUND when there is no such name.
  absl::StatusOr<::berth::services::images::v1::Image> GetImage(const std::string& name);
  // The image's layers as snapshots; returns the top chain ID.
  absl::StatusOr<std::string> Unpack(const std::string& name);
  // Creates the name, or points an existing one at `target`; returns the stored name.
  absl::StatusOr<std::string> NameImage(const std::string& name,
                                        const ::berth::types::v1::Descriptor& target);

  // Content.
  absl::StatusOr<std::string> ReadBlob(const std::string& digest, int64_t max_size);
  absl::StatusOr<bool> HasBlob(const std::string& digest);
  absl::StatusOr<::berth::types::v1::Descriptor> WriteBlob(
      const std::string& data, const std::string& media_type,
      const std::map<std::string, std::string>& labels);

  // Leases. CreateLease: an existing lease of that id is fine.
  absl::Status CreateLease(const std::string& id, absl::Duration expires_in);
  absl::Status DeleteLease(const std::string& id);
  absl::Status AddToLease(const std::string& id, const std::string& digest);

  // Snapshots (of the build's snapshotter).
  absl::StatusOr<Mounts> Prepare(const std::string& key, const std::string& parent);
  absl::StatusOr<Mounts> View(const std::string& key, const std::string& parent);
  // ALREADY_EXISTS when `name` exists.
  absl::Status Commit(const std::string& name, const std::string& key,
                      const std::map<std::string, std::string>& labels);
  // A missing snapshot is fine.
  absl::Status Remove(const std::string& key);
  absl::StatusOr<bool> SnapshotExists(const std::string& name);
  // Names of snapshots matching a filter ("name~=^build-").
  absl::StatusOr<std::vector<std::string>> ListSnapshots(const std::string& filter);

  // The changes of `right` against `left` as a layer blob of `media_type`.
  absl::StatusOr<::berth::types::v1::Descriptor> Diff(const Mounts& left, const Mounts& right,
                                                      const std::string& media_type);

  ::berth::services::containers::v1::Containers::StubInterface& containers() {
    return *containers_;
  }
  ::berth::services::tasks::v1::Tasks::StubInterface& tasks() { return *tasks_; }

 private:
  Backend() = default;

  std::string ns_, snapshotter_, lease_;
  std::unique_ptr<::berth::services::images::v1::Images::Stub> images_;
  std::unique_ptr<::berth::services::content::v1::Content::Stub> content_;
  std::unique_ptr<::berth::services::leases::v1::Leases::Stub> leases_;
  std::unique_ptr<::berth::services::snapshots::v1::Snapshots::Stub> snapshots_;
  std::unique_ptr<::berth::services::diff::v1::Diff::Stub> diff_;
  std::unique_ptr<::berth::services::containers::v1::Containers::Stub> containers_;
  std::unique_ptr<::berth::services::tasks::v1::Tasks::Stub> tasks_;
};

}  // namespace berth::build

#endif  // BERTH_SERVICES_BUILD_BACKEND_H_
