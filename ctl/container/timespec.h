// Times as Docker's --since and --until take them (logs, events): a Go duration before now
// ("10m", "1h30m"), an RFC 3339 date-time with or without zone, fraction or seconds
// ("2026-11-28T10:00:00Z", "2026-11-28T10:00", "2026-11-28"), or Unix seconds
// ("1764324000", "1764324000.5"). Without a zone, the local time zone, as Docker.
#ifndef BERTH_CTL_CONTAINER_TIMESPEC_H_
#define BERTH_CTL_CONTAINER_TIMESPEC_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace berth::ctl {

// INVALID_ARGUMENT naming `flag` ("since") when `value` is none of the above.
absl::StatusOr<absl::Time> ParseTimeSpec(absl::string_view flag, absl::string_view value,
                                         absl::Time now,
                                         absl::TimeZone local = absl::LocalTimeZone());

// Go's time.RFC3339Nano with the 9 digits always written, in `zone` ("Z" for UTC), as
// Docker's jsonmessage.RFC3339NanoFixed: `logs -t` and `events` lines.
std::string FormatRfc3339NanoFixed(absl::Time t, absl::TimeZone zone = absl::LocalTimeZone());

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_TIMESPEC_H_
