// absl::Time ⇄ google.protobuf.Timestamp, for every service's responses.
#ifndef BERTH_SERVICES_COMMON_PROTO_TIME_H_
#define BERTH_SERVICES_COMMON_PROTO_TIME_H_

#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace berth::services {

inline void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(t);
  int64_t seconds = nanos / 1000000000;
  int64_t rem = nanos % 1000000000;
  if (rem < 0) {  // Timestamp nanos are never negative
    rem += 1000000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rem));
}

inline absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace berth::services

#endif  // BERTH_SERVICES_COMMON_PROTO_TIME_H_
