// Internal to the images service: what its files (images_service*.cc) share, the namespace
// aliases they all use and the conversions between image records and API messages. Nothing
// else includes this header; it is not among the library's hdrs.
#ifndef BERTH_SERVICES_IMAGES_IMAGES_SERVICE_INTERNAL_H_
#define BERTH_SERVICES_IMAGES_IMAGES_SERVICE_INTERNAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "berth/events/v1/events.pb.h"
#include "berth/services/images/v1/images.pb.h"
#include "services/images/oci.h"
#include "services/metadata/image_records.h"

namespace berth::services {

namespace pb = ::berth::services::images::v1;
namespace md = ::berth::metadata;
namespace img = ::berth::images;
namespace ev = ::berth::events::v1;

void ToProto(const md::ImageRecord& r, pb::Image* out);

// `name` normalised as Docker does; an error names `call`.
absl::StatusOr<std::string> NormalizeName(const std::string& name, absl::string_view call);

// Unset when the request names no platform; a missing os or architecture is the host's.
absl::optional<img::Platform> PlatformFromProto(const ::berth::types::v1::Platform& p);

// ImageCreate and ImageUpdate carry the same fields.
template <typename Event>
Event ImageEvent(const md::ImageRecord& r) {
  Event e;
  e.set_name(r.name);
  e.mutable_labels()->insert(r.labels.begin(), r.labels.end());
  return e;
}

}  // namespace berth::services

#endif  // BERTH_SERVICES_IMAGES_IMAGES_SERVICE_INTERNAL_H_
