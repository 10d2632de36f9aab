#include "shim/log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/syscall.h"

namespace berth::shim {
namespace {

constexpr size_t kMaxLine = 16 * 1024;

void AppendEscaped(std::string* out, absl::string_view s) {
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
}

std::string Now() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  ::gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  size_t n = ::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &t);
  std::snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

}  // namespace

absl::Status LogWriter::Open(const std::string& path, LogLimits limits) {
  absl::StatusOr<UniqueFd> fd = sys::Open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (!fd.ok()) return fd.status();
  struct stat st;
  size_ = ::fstat(fd->get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  fd_ = *std::move(fd);
  path_ = path;
  limits_ = limits;
  if (limits_.max_files < 1) limits_.max_files = 1;
  return absl::OkStatus();
}

void LogWriter::Rotate() {
  // Oldest first, each rename replacing the file after it: log.json.(N-2) → .(N-1) … and
  // finally log.json → log.json.1. With one file in all, the old log is simply dropped.
  for (int k = limits_.max_files - 1; k >= 2; --k) {
    const std::string from = absl::StrCat(path_, ".", k - 1);
    const std::string to = absl::StrCat(path_, ".", k);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      std::fprintf(stderr, "berth-shim: rotating the log: rename(%s, %s): %s\n", from.c_str(),
                   to.c_str(), std::strerror(errno));
    }
  }
  const int moved = limits_.max_files >= 2
                        ? ::rename(path_.c_str(), absl::StrCat(path_, ".1").c_str())
                        : ::unlink(path_.c_str());
  if (moved != 0) {
    std::fprintf(stderr, "berth-shim: rotating the log %s: %s; it keeps growing\n", path_.c_str(),
                 std::strerror(errno));
    return;
  }
  absl::StatusOr<UniqueFd> fd =
      sys::Open(path_, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_TRUNC, 0640);
  if (!fd.ok()) {
    // Keep appending to the renamed file rather than lose records.
    std::fprintf(stderr, "berth-shim: rotating the log: %s\n",
                 std::string(fd.status().message()).c_str());
    return;
  }
  fd_ = *std::move(fd);
  size_ = 0;
}

void LogWriter::Write(absl::string_view stream, absl::string_view data) {
  std::string& pending = Pending(stream);
  pending.append(data.data(), data.size());
  size_t start = 0;
  for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
    Line(stream, absl::string_view(pending).substr(start, nl + 1 - start));
  }
  pending.erase(0, start);
  if (pending.size() >= kMaxLine) Flush(stream);
}

void LogWriter::Flush(absl::string_view stream) {
  std::string& pending = Pending(stream);
  if (!pending.empty()) Line(stream, pending);
  pending.clear();
}

void LogWriter::Line(absl::string_view stream, absl::string_view line) {
  if (!fd_) return;
  std::string rec = "{\"log\":\"";
  AppendEscaped(&rec, line);
  rec += "\",\"stream\":\"";
  rec.append(stream.data(), stream.size());
  rec += "\",\"time\":\"" + Now() + "\"}\n";
  if (limits_.max_size > 0 && size_ > 0 && size_ + rec.size() > limits_.max_size) Rotate();
  // One write per record: O_APPEND keeps records whole even with other writers.
  ssize_t n = ::write(fd_.get(), rec.data(), rec.size());
  if (n > 0) size_ += static_cast<uint64_t>(n);
}

}  // namespace berth::shim
