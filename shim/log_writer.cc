#include "shim/log_writer.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

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

absl::Status LogWriter::Open(const std::string& path) {
  absl::StatusOr<UniqueFd> fd = sys::Open(path, O_WRONLY | O_CREAT | O_APPEND, 0640);
  if (!fd.ok()) return fd.status();
  fd_ = *std::move(fd);
  return absl::OkStatus();
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
  // One write per record: O_APPEND keeps records whole even with other writers.
  (void)!::write(fd_.get(), rec.data(), rec.size());
}

}  // namespace berth::shim
