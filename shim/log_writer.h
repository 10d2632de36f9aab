// The container's output as JSON lines, Docker's json-file shape:
//   {"log":"hello\n","stream":"stdout","time":"2026-11-28T03:40:00.123456789Z"}
// A line is written when its newline arrives (or when 16 KiB have piled up without one).
//
// Rotation, like Docker's json-file driver: when a record would take the file past
// max_size bytes, log.json.(k) becomes log.json.(k+1) (the oldest falls off), log.json becomes
// log.json.1 and a fresh log.json is opened. So `log.json` is newest, then `log.json.1`, … up
// to `log.json.(max_files-1)`: at most max_files files in all. A record is never split across
// files; one larger than max_size gets a file to itself.
#ifndef BERTH_SHIM_LOG_WRITER_H_
#define BERTH_SHIM_LOG_WRITER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace berth::shim {

struct LogLimits {
  uint64_t max_size = 0;  // bytes per file; 0: unlimited, never rotated
  int max_files = 1;      // files kept in all, the live one included
};

class LogWriter {
 public:
  absl::Status Open(const std::string& path, LogLimits limits = {});
  // Appends output of `stream` ("stdout" or "stderr").
  void Write(absl::string_view stream, absl::string_view data);
  // Writes what is buffered without a newline (at the end of a stream).
  void Flush(absl::string_view stream);

 private:
  void Line(absl::string_view stream, absl::string_view line);
  // Shifts the files along and opens a fresh one; on failure keeps writing to the current one.
  void Rotate();
  std::string& Pending(absl::string_view stream) { return stream == "stdout" ? out_ : err_; }

  std::string path_;
  LogLimits limits_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  std::string out_, err_;
};

}  // namespace berth::shim

#endif  // BERTH_SHIM_LOG_WRITER_H_
