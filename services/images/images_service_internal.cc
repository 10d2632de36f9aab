// The conversions declared in images_service_internal.h, shared by the images service's files.
#include "services/images/images_service_internal.h"

#include "common/status_macros.h"
#include "services/common/proto_time.h"
#include "services/images/reference.h"

namespace berth::services {

void ToProto(const md::ImageRecord& r, pb::Image* out) {
  out->set_name(r.name);
  out->mutable_labels()->insert(r.labels.begin(), r.labels.end());
  auto* t = out->mutable_target();
  t->set_media_type(r.target.media_type);
  t->set_digest(r.target.digest);
  t->set_size(r.target.size);
  t->mutable_annotations()->insert(r.target.annotations.begin(), r.target.annotations.end());
  services::ToProto(r.created_at, out->mutable_created_at());
  services::ToProto(r.updated_at, out->mutable_updated_at());
}

absl::StatusOr<std::string> NormalizeName(const std::string& name, absl::string_view call) {
  absl::StatusOr<std::string> n = img::Normalize(name);
  if (!n.ok()) return Annotate(n.status(), call);
  return n;
}

absl::optional<img::Platform> PlatformFromProto(const ::berth::types::v1::Platform& p) {
  if (p.os().empty() && p.architecture().empty()) return absl::nullopt;
  return img::Platform{.os = p.os().empty() ? "linux" : p.os(),
                       .architecture = p.architecture().empty() ? img::HostPlatform().architecture
                                                                : p.architecture(),
                       .variant = p.variant()};
}

}  // namespace berth::services
