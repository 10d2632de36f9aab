// `top`: the processes of a container as `ps -ef` shows them (UID PID PPID C STIME TTY TIME
// CMD), read from this host's /proc. The tasks service gives the pids (ListPids); they are
// host pids, so this works only where berthd runs — as Docker's daemon runs ps itself.
// With ps options, ps(1) runs here and its output is cut down to the container's pids.
#ifndef BERTH_CTL_CONTAINER_PROC_TABLE_H_
#define BERTH_CTL_CONTAINER_PROC_TABLE_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace berth::ctl {

struct ProcTable {
  std::vector<std::string> titles;
  std::vector<std::vector<std::string>> rows;
};

// What turns /proc's clock ticks into times.
struct ProcClock {
  absl::Time boot;  // btime from <proc>/stat
  long ticks_per_second = 100;
  absl::Time now;
  absl::TimeZone zone;  // STIME is local time, as ps prints it
  static absl::StatusOr<ProcClock> Read(const std::string& proc = "/proc");
};

// `ps -ef`'s columns for each pid (pids gone meanwhile are left out), in pid order.
ProcTable ReadPsEf(const std::set<int>& pids, const ProcClock& clock,
                   const std::string& proc = "/proc");

// The rows of ps(1) output whose PID column is one of `pids`; the last column takes the rest
// of the line (a command with spaces), as Docker parses it. FAILED_PRECONDITION "Couldn't
// find PID field in ps output" when there is no PID column.
absl::StatusOr<ProcTable> FilterPsOutput(absl::string_view output, const std::set<int>& pids);

// ps's formats: STIME "%H:%M" within a day, "%b%d" within a year, else "%Y"; TIME
// "[D-]HH:MM:SS" of CPU; TTY "pts/N", "ttyN", "ttySN" or "?".
std::string PsStartTime(absl::Time start, absl::Time now, absl::TimeZone zone);
std::string PsCpuTime(int64_t seconds);
std::string PsTty(uint64_t tty_nr);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_PROC_TABLE_H_
