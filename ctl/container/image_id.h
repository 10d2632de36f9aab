// The image a container was made from, by ID: recorded at create (berth.io/image-id) because
// the record's image name can move to another image, or go, while the container lives.
#ifndef BERTH_CTL_CONTAINER_IMAGE_ID_H_
#define BERTH_CTL_CONTAINER_IMAGE_ID_H_

#include <map>
#include <string>

#include "berth/services/containers/v1/containers.pb.h"

namespace berth::ctl {

// Records `image_id` ("sha256:<config digest>") in `labels` for a new container.
void RecordImageId(const std::string& image_id, std::map<std::string, std::string>* labels);

// The image ID recorded on `c`; "" when there is none (a container made before berth recorded
// it) or the label does not hold an image ID ("sha256:" and 64 lowercase hex digits): the
// caller then resolves the record's image name, as before.
std::string RecordedImageId(const berth::services::containers::v1::Container& c);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_IMAGE_ID_H_
