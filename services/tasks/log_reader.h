// Reading a task's log: the JSON lines berth-shim writes ({"log","stream","time"}, Docker's
// json-file shape), across rotated files (log.json.N … log.json.1, then log.json), with
// since/until/tail/stream selection, and following the live file through rotations.
#ifndef BERTH_SERVICES_TASKS_LOG_READER_H_
#define BERTH_SERVICES_TASKS_LOG_READER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/unique_fd.h"

namespace berth::tasks {

struct LogLine {
  bool stderr_stream = false;
  absl::Time time;
  std::string data;
  bool partial = false;  // no newline at the end: the next record continues it
};

struct LogQuery {
  absl::optional<absl::Time> since, until;
  int64_t tail = 0;  // ≤ 0: all
  bool want_stdout = true, want_stderr = true;
  bool Wants(const LogLine& l) const;
};

// Parses one JSON line; nullopt for a torn or foreign line (skipped, never fatal).
absl::optional<LogLine> ParseLogLine(const std::string& text);

// The files of the log at `path`, oldest first; absent files are left out.
std::vector<std::string> LogFiles(const std::string& path);

// Reads what the log holds now and passes the selected lines, in order, in batches.
// `emit` returning false stops the read (the client went away).
// Returns where the read stopped in the live file, for a LogFollower to go on from.
using LogSink = std::function<bool(std::vector<LogLine>&&)>;
struct LogPosition {
  ino_t inode = 0;
  off_t offset = 0;
};
LogPosition ReadLog(const std::string& path, const LogQuery& query, const LogSink& emit);

// Follows the live file from its current end: Poll() returns the lines appended since the
// last call, switching to the new file when the writer rotates it.
class LogFollower {
 public:
  // Goes on from `from` (what ReadLog returned) in `path`; if the file was rotated since, the
  // rest of the old file is lost to the follower only if it was rotated twice.
  LogFollower(std::string path, LogPosition from);
  std::vector<LogLine> Poll();

 private:
  void Open();
  void Drain(std::vector<LogLine>* out);

  std::string path_;
  UniqueFd fd_;
  ino_t inode_ = 0;
  std::string partial_;  // bytes of a line whose newline has not arrived
};

}  // namespace berth::tasks

#endif  // BERTH_SERVICES_TASKS_LOG_READER_H_
