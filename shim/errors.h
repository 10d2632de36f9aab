// Building error responses of the shim protocol from canonical codes.
#ifndef BERTH_SHIM_ERRORS_H_
#define BERTH_SHIM_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "berth/shim/v1/shim.pb.h"

namespace berth::shim {

inline v1::Response Error(absl::StatusCode code, const std::string& message) {
  v1::Response r;
  r.set_code(static_cast<int32_t>(code));
  r.set_message(message);
  return r;
}

inline v1::Response Error(const absl::Status& st) {
  return Error(st.code(), std::string(st.message()));
}

}  // namespace berth::shim

#endif  // BERTH_SHIM_ERRORS_H_
