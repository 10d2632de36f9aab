// berth.services.snapshots.v1.Snapshots: routes each request to the snapshotter it names
// (the configured default when it names none) and keeps namespaces apart by prefixing keys
// with "<namespace>/" on the way in and stripping it on the way out. Namespace names cannot
// contain "/", so one namespace can never name another's snapshot.
#ifndef BERTH_SERVICES_SNAPSHOTS_SNAPSHOTS_SERVICE_H_
#define BERTH_SERVICES_SNAPSHOTS_SNAPSHOTS_SERVICE_H_

#include <map>
#include <memory>
#include <string>

#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "snapshotter/snapshotter.h"

namespace berth::services {

class SnapshotsService final : public ::berth::services::snapshots::v1::Snapshots::Service {
 public:
  using SnapshotterMap = std::map<std::string, std::shared_ptr<::berth::snapshotter::Snapshotter>>;
  // `scope_keys` false serves keys as they come, for berth-snapshotter behind a proxy: the
  // berthd in front has already put them in their namespace.
  SnapshotsService(SnapshotterMap snapshotters, std::string default_name, bool scope_keys = true);

  grpc::Status Prepare(grpc::ServerContext* ctx,
                       const ::berth::services::snapshots::v1::PrepareSnapshotRequest* req,
                       ::berth::services::snapshots::v1::PrepareSnapshotResponse* resp) override;
  grpc::Status View(grpc::ServerContext* ctx,
                    const ::berth::services::snapshots::v1::ViewSnapshotRequest* req,
                    ::berth::services::snapshots::v1::ViewSnapshotResponse* resp) override;
  grpc::Status Mounts(grpc::ServerContext* ctx,
                      const ::berth::services::snapshots::v1::MountsRequest* req,
                      ::berth::services::snapshots::v1::MountsResponse* resp) override;
  grpc::Status Commit(grpc::ServerContext* ctx,
                      const ::berth::services::snapshots::v1::CommitSnapshotRequest* req,
                      google::protobuf::Empty* resp) override;
  grpc::Status Remove(grpc::ServerContext* ctx,
                      const ::berth::services::snapshots::v1::RemoveSnapshotRequest* req,
                      google::protobuf::Empty* resp) override;
  grpc::Status Stat(grpc::ServerContext* ctx,
                    const ::berth::services::snapshots::v1::StatSnapshotRequest* req,
                    ::berth::services::snapshots::v1::StatSnapshotResponse* resp) override;
  grpc::Status Update(grpc::ServerContext* ctx,
                      const ::berth::services::snapshots::v1::UpdateSnapshotRequest* req,
                      ::berth::services::snapshots::v1::UpdateSnapshotResponse* resp) override;
  grpc::Status List(
      grpc::ServerContext* ctx, const ::berth::services::snapshots::v1::ListSnapshotsRequest* req,
      grpc::ServerWriter<::berth::services::snapshots::v1::ListSnapshotsResponse>* writer) override;
  grpc::Status Usage(grpc::ServerContext* ctx,
                     const ::berth::services::snapshots::v1::UsageRequest* req,
                     ::berth::services::snapshots::v1::UsageResponse* resp) override;
  grpc::Status Cleanup(grpc::ServerContext* ctx,
                       const ::berth::services::snapshots::v1::CleanupRequest* req,
                       google::protobuf::Empty* resp) override;

 private:
  absl::StatusOr<::berth::snapshotter::Snapshotter*> Find(const std::string& name) const;

  const SnapshotterMap snapshotters_;
  const std::string default_;
  const bool scope_keys_;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_SNAPSHOTS_SNAPSHOTS_SERVICE_H_
