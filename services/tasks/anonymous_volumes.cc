#include "services/tasks/anonymous_volumes.h"

#include <chrono>

#include "absl/strings/str_split.h"
#include "berth/services/volumes/v1/volumes.grpc.pb.h"
#include "common/namespace.h"
#include "services/volumes/local.h"
#include "spdlog/spdlog.h"

namespace berth::tasks {

void RemoveAnonymousVolumes(
    const std::function<std::shared_ptr<grpc::Channel>(const std::string&)>& channels,
    const std::string& ns, const ::berth::services::containers::v1::Container& container) {
  namespace vpb = ::berth::services::volumes::v1;
  auto it = container.labels().find(volumes::kAnonymousVolumesLabel);
  if (it == container.labels().end() || it->second.empty()) return;
  std::shared_ptr<grpc::Channel> ch = channels("volumes");
  if (ch == nullptr) {
    spdlog::warn("container {}/{}: its anonymous volumes stay: no volumes service", ns,
                 container.id());
    return;
  }
  auto stub = vpb::Volumes::NewStub(ch);
  for (absl::string_view name : absl::StrSplit(it->second, ',', absl::SkipEmpty())) {
    grpc::ClientContext ctx;
    ctx.AddMetadata(kNamespaceMetadataKey, ns);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    vpb::RemoveVolumeRequest req;
    req.set_name(std::string(name));
    google::protobuf::Empty e;
    grpc::Status st = stub->Remove(&ctx, req, &e);
    if (!st.ok() && st.error_code() != grpc::StatusCode::NOT_FOUND) {
      spdlog::warn("container {}/{}: anonymous volume {} stays: {}", ns, container.id(),
                   std::string(name), st.error_message());
    }
  }
}

}  // namespace berth::tasks
