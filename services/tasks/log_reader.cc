#include "services/tasks/log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/syscall.h"

namespace berth::tasks {
namespace {

constexpr size_t kBatch = 256;

ino_t InodeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

bool LogQuery::Wants(const LogLine& l) const {
  if (l.stderr_stream ? !want_stderr : !want_stdout) return false;
  if (since && l.time < *since) return false;
  if (until && l.time >= *until) return false;
  return true;
}

absl::optional<LogLine> ParseLogLine(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("log") || !j["log"].is_string()) return absl::nullopt;
  LogLine l;
  l.data = j["log"].get<std::string>();
  l.stderr_stream = j.value("stream", "") == "stderr";
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, j.value("time", ""), &l.time, &err)) {
    return absl::nullopt;
  }
  l.partial = !absl::EndsWith(l.data, "\n");
  return l;
}

std::vector<std::string> LogFiles(const std::string& path) {
  std::vector<std::string> rotated;
  for (int i = 1;; ++i) {
    const std::string p = absl::StrCat(path, ".", i);
    if (!sys::Exists(p)) break;
    rotated.push_back(p);
  }
  std::vector<std::string> out(rotated.rbegin(), rotated.rend());
  if (sys::Exists(path)) out.push_back(path);
  return out;
}

LogPosition ReadLog(const std::string& path, const LogQuery& query, const LogSink& emit) {
  // With a tail, only the last N selected lines are kept while scanning.
  std::deque<LogLine> kept;
  std::vector<LogLine> batch;
  LogPosition pos;
  for (const std::string& file : LogFiles(path)) {
    std::ifstream in(file);
    const bool live = file == path;
    if (live) pos.inode = InodeOf(file);
    std::string text;
    for (;;) {
      const std::streamoff start = in.tellg();
      if (!std::getline(in, text)) break;
      if (in.eof()) {  // no newline yet: the writer is mid-line; the follower reads it whole
        if (live) pos.offset = start;
        break;
      }
      if (live) pos.offset = in.tellg();
      absl::optional<LogLine> l = ParseLogLine(text);
      if (!l || !query.Wants(*l)) continue;
      if (query.tail > 0) {
        kept.push_back(*std::move(l));
        if (static_cast<int64_t>(kept.size()) > query.tail) kept.pop_front();
        continue;
      }
      batch.push_back(*std::move(l));
      if (batch.size() >= kBatch) {
        if (!emit(std::move(batch))) return pos;
        batch.clear();
      }
    }
  }
  for (LogLine& l : kept) batch.push_back(std::move(l));
  if (!batch.empty()) emit(std::move(batch));
  return pos;
}

LogFollower::LogFollower(std::string path, LogPosition from) : path_(std::move(path)) {
  Open();
  if (!fd_.valid()) return;
  if (from.inode == inode_) {
    ::lseek(fd_.get(), from.offset, SEEK_SET);
  } else if (from.inode != 0) {
    // Rotated between the read and now: the old file is log.json.1; finish it first.
    UniqueFd old(::open(absl::StrCat(path_, ".1").c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (old.valid() && ::fstat(old.get(), &st) == 0 && st.st_ino == from.inode) {
      ::lseek(old.get(), from.offset, SEEK_SET);
      std::swap(old, fd_);
      inode_ = from.inode;
    }
  }
}

void LogFollower::Open() {
  fd_.Reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  inode_ = 0;
  struct stat st;
  if (fd_.valid() && ::fstat(fd_.get(), &st) == 0) inode_ = st.st_ino;
  partial_.clear();
}

void LogFollower::Drain(std::vector<LogLine>* out) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
    if (n <= 0) break;
    partial_.append(buf, static_cast<size_t>(n));
  }
  size_t start = 0;
  for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (absl::optional<LogLine> l = ParseLogLine(partial_.substr(start, nl - start))) {
      out->push_back(*std::move(l));
    }
  }
  partial_.erase(0, start);
}

std::vector<LogLine> LogFollower::Poll() {
  std::vector<LogLine> out;
  if (!fd_.valid()) {
    Open();  // it did not exist yet: everything in it is new
    if (!fd_.valid()) return out;
  }
  Drain(&out);
  // Rotated: what the old file still held has been read; go on in the new one from its start.
  if (const ino_t now = InodeOf(path_); now != 0 && now != inode_) {
    Open();
    Drain(&out);
  }
  return out;
}

}  // namespace berth::tasks
