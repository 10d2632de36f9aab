#include "services/version/version_service.h"

#include <sys/utsname.h>

#include "absl/strings/str_cat.h"
#include "common/version.h"

// Builds are not stamped, which would defeat the disk cache; scripts/setup.sh passes the git
// revision for this one file with --per_file_copt.
#ifndef BERTH_REVISION
#define BERTH_REVISION "unknown"
#endif

namespace berth::services {

grpc::Status VersionService::Version(grpc::ServerContext*, const google::protobuf::Empty*,
                                     berth::services::version::v1::VersionResponse* response) {
  response->set_version(kVersion);
  response->set_api_version(kApiVersion);
  response->set_revision(BERTH_REVISION);
  response->set_os("linux");
#if defined(__x86_64__)
  response->set_arch("amd64");
#elif defined(__aarch64__)
  response->set_arch("arm64");
#else
  response->set_arch("unknown");
#endif
  struct utsname uts;
  if (::uname(&uts) == 0) response->set_kernel_version(uts.release);
  response->set_compiler(
      absl::StrCat("gcc ", __GNUC__, ".", __GNUC_MINOR__, ".", __GNUC_PATCHLEVEL__));
  return grpc::Status::OK;
}

}  // namespace berth::services
