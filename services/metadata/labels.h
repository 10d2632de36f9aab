// Labels (string → string) as stored in the metadata database: a JSON object in a TEXT
// column. Also the bounds every service applies to labels, and time as stored (Unix nanos).
#ifndef BERTH_SERVICES_METADATA_LABELS_H_
#define BERTH_SERVICES_METADATA_LABELS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace berth::metadata {

using Labels = std::map<std::string, std::string>;

// Like containerd: a key and its value together are at most 4096 bytes, and a key is not
// empty. Labels travel in every List response, so they must stay small.
inline constexpr size_t kMaxLabelBytes = 4096;
absl::Status ValidateLabels(const Labels& labels);

std::string EncodeLabels(const Labels& labels);
absl::StatusOr<Labels> DecodeLabels(absl::string_view json);

inline int64_t ToDbTime(absl::Time t) { return absl::ToUnixNanos(t); }
inline absl::Time FromDbTime(int64_t nanos) { return absl::FromUnixNanos(nanos); }

}  // namespace berth::metadata

#endif  // BERTH_SERVICES_METADATA_LABELS_H_
