// How the container verbs print what they show, as Docker's CLI prints it: ps's STATUS,
// CREATED, COMMAND and SIZE columns. Sizes and durations come from ctl/image_format.h
// (HumanSize, HumanDuration: go-units' thresholds), shared with `images`.
#ifndef BERTH_CTL_CONTAINER_FORMAT_H_
#define BERTH_CTL_CONTAINER_FORMAT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace berth::ctl {

enum class ContainerStatus { kCreated, kRunning, kPaused, kRestarting, kExited, kRemoving, kDead };

// What `ps` needs to know of a container's state.
struct ContainerState {
  ContainerStatus status = ContainerStatus::kCreated;
  absl::optional<absl::Time> started_at;   // of the current or last task
  absl::optional<absl::Time> finished_at;  // of the last task
  int exit_code = 0;
};

// The STATUS column, as Docker's State.String(): "Created", "Up 3 minutes",
// "Up 3 minutes (Paused)", "Restarting (1) 5 seconds ago", "Exited (0) 2 seconds ago",
// "Removal In Progress", "Dead". A running container with no known start time is "Up".
std::string StatusText(const ContainerState& state, absl::Time now);

// {{.State}}: "created", "running", "paused", "restarting", "exited", "removing", "dead".
std::string StateName(ContainerStatus status);

// A container without a task, from the labels the daemon leaves when it deletes one
// (berth.io/started-at, exited-at, exit-status): "exited" if it ever ran, else "created".
// Malformed labels are treated as absent.
ContainerState StateFromLabels(const std::map<std::string, std::string>& labels);

// "2 minutes ago" (the CREATED column; Docker's RunningFor).
std::string Ago(absl::Time then, absl::Time now);

// Go's time.RFC3339Nano in UTC ("2026-11-28T10:00:00.5Z"), the form of the berth.io/*-at
// labels; and its parser, which takes any RFC 3339 offset.
std::string FormatRfc3339Nano(absl::Time t);
absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text);

// The command as Docker's daemon records it for ps: the program and its arguments joined by
// spaces, an argument holding a space wrapped in single quotes ("sh -c 'echo hi'").
std::string CommandLine(const std::vector<std::string>& args);

// The COMMAND column: CommandLine cut to 20 code points with "…" (unless no_trunc), then
// quoted as Go's strconv.Quote: "\"sh -c 'echo hello w…\"".
std::string PsCommand(const std::vector<std::string>& args, bool no_trunc);

// Docker's formatter.Ellipsis: at most `width` code points, the last one "…" when cut.
std::string Ellipsis(absl::string_view text, size_t width);

// Go's strconv.Quote: double quotes; \" \\ \a \b \f \n \r \t \v escaped; other control bytes
// and invalid UTF-8 as \xNN; printable UTF-8 kept as it is.
std::string GoQuote(absl::string_view text);

// The SIZE column of `ps --size`: "12B (virtual 1.24MB)".
std::string PsSize(int64_t rw_bytes, int64_t rootfs_bytes);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_FORMAT_H_
