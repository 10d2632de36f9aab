// A Snapshotter that lives in another process: every call goes over the snapshots gRPC API
// (berth.services.snapshots.v1.Snapshots) to whatever serves it, e.g. berth-snapshotter. Keys
// are passed through untouched (the snapshots service in front has already namespaced them),
// and the request names no snapshotter, so the server uses its default: a proxy plugin serves
// one snapshotter.
#ifndef BERTH_SNAPSHOTTER_PROXY_PROXY_H_
#define BERTH_SNAPSHOTTER_PROXY_PROXY_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

class ProxySnapshotter final : public Snapshotter {
 public:
  // `name` only labels errors ("proxy snapshotter ext: …").
  ProxySnapshotter(std::string name, std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<Info> Stat(const std::string& key) override;
  absl::StatusOr<Info> Update(const Info& info, const std::vector<std::string>& paths) override;
  absl::StatusOr<Usage> GetUsage(const std::string& key) override;
  absl::StatusOr<std::vector<Mount>> Mounts(const std::string& key) override;
  absl::StatusOr<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent,
                                             const Labels& labels) override;
  absl::StatusOr<std::vector<Mount>> View(const std::string& key, const std::string& parent,
                                          const Labels& labels) override;
  absl::Status Commit(const std::string& name, const std::string& key,
                      const Labels& labels) override;
  absl::Status Remove(const std::string& key) override;
  absl::Status Walk(const std::function<absl::Status(const Info&)>& fn,
                    const std::vector<std::string>& filters) override;
  absl::Status Cleanup() override;

 private:
  // The error of a call, with the plugin's name and the call in front.
  absl::Status Error(const grpc::Status& st, absl::string_view call) const;

  const std::string name_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<berth::services::snapshots::v1::Snapshots::Stub> stub_;
};

}  // namespace berth::snapshotter

#endif  // BERTH_SNAPSHOTTER_PROXY_PROXY_H_
