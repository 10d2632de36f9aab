// berth's release and API versions, shared by every binary.
#ifndef BERTH_COMMON_VERSION_H_
#define BERTH_COMMON_VERSION_H_

namespace berth {

inline constexpr char kVersion[] = "0.1.0-dev";
inline constexpr char kApiVersion[] = "v1";
// The OCI runtime-spec version that berth-runtime implements.
inline constexpr char kOciSpecVersion[] = "1.0.2";

}  // namespace berth

#endif  // BERTH_COMMON_VERSION_H_
