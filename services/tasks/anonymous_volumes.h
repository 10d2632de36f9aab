// The anonymous volumes of a container the daemon auto-removes (`run --rm`): those its record
// names in berth.io/anonymous-volumes go with it, through the volumes service. Named volumes
// stay. A volume another container still uses (--volumes-from) is refused by the service and
// kept; failures are logged, never fatal.
#ifndef BERTH_SERVICES_TASKS_ANONYMOUS_VOLUMES_H_
#define BERTH_SERVICES_TASKS_ANONYMOUS_VOLUMES_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "berth/services/containers/v1/containers.pb.h"

namespace berth::tasks {

void RemoveAnonymousVolumes(
    const std::function<std::shared_ptr<grpc::Channel>(const std::string&)>& channels,
    const std::string& ns, const ::berth::services::containers::v1::Container& container);

}  // namespace berth::tasks

#endif  // BERTH_SERVICES_TASKS_ANONYMOUS_VOLUMES_H_
