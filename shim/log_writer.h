// The container's output as JSON lines, Docker's json-file shape:
//   {"log":"hello\n","stream":"stdout","time":"2026-11-28T03:40:00.123456789Z"}
// A line is written when its newline arrives (or when 16 KiB have piled up without one).
#ifndef BERTH_SHIM_LOG_WRITER_H_
#define BERTH_SHIM_LOG_WRITER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace berth::shim {

class LogWriter {
 public:
  absl::Status Open(const std::string& path);
  // Appends output of `stream` ("stdout" or "stderr").
  void Write(absl::string_view stream, absl::string_view data);
  // Writes what is buffered without a newline (at the end of a stream).
  void Flush(absl::string_view stream);

 private:
  void Line(absl::string_view stream, absl::string_view line);
  std::string& Pending(absl::string_view stream) { return stream == "stdout" ? out_ : err_; }

  UniqueFd fd_;
  std::string out_, err_;
};

}  // namespace berth::shim

#endif  // BERTH_SHIM_LOG_WRITER_H_
