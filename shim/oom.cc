#include "shim/oom.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/syscall.h"

namespace berth::shim {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t j = 1; j <= 3; ++j) {
        const char c = s[i + j];
        if (c < '0' || c > '7') ok = false;
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> LastCgroup2Mount(absl::string_view mountinfo) {
  std::string found;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    // id parent major:minor root mount-point options [optional…] - fstype source super-options
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 5 || dash + 1 >= f.size()) continue;
    if (f[dash + 1] == "cgroup2") found = Unescape(f[4]);
  }
  if (found.empty()) return absl::NotFoundError("no cgroup2 file system is mounted");
  return found;
}

absl::StatusOr<std::string> UnifiedCgroupPath(absl::string_view proc_pid_cgroup) {
  for (absl::string_view line : absl::StrSplit(proc_pid_cgroup, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "0::")) return std::string(line);
  }
  return absl::NotFoundError("the process is in no cgroup v2 group (no \"0::\" line)");
}

uint64_t FlatKeyed(absl::string_view text, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, ' ');
    uint64_t v = 0;
    if (kv.first == key && absl::SimpleAtoi(kv.second, &v)) return v;
  }
  return 0;
}

absl::Status OomWatcher::WatchProcess(pid_t pid) {
  absl::StatusOr<std::string> mountinfo = sys::ReadFile("/proc/self/mountinfo");
  if (!mountinfo.ok()) return mountinfo.status();
  absl::StatusOr<std::string> mount = LastCgroup2Mount(*mountinfo);
  if (!mount.ok()) return mount.status();
  absl::StatusOr<std::string> cgroup = sys::ReadFile(absl::StrCat("/proc/", pid, "/cgroup"));
  if (!cgroup.ok()) return cgroup.status();
  absl::StatusOr<std::string> path = UnifiedCgroupPath(*cgroup);
  if (!path.ok()) return path.status();
  const std::string events = absl::StrCat(*mount, *path == "/" ? "" : *path, "/memory.events");
  if (!sys::Exists(events)) {
    return absl::NotFoundError(absl::StrCat(events, " does not exist: no memory controller"));
  }
  return WatchFile(events);
}

absl::Status OomWatcher::WatchFile(const std::string& memory_events) {
  Stop();
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd) return ErrnoStatus("inotify_init1", errno);
  if (::inotify_add_watch(fd.get(), memory_events.c_str(), IN_MODIFY) < 0) {
    return ErrnoStatus(absl::StrCat("inotify_add_watch(", memory_events, ")"), errno);
  }
  // The count so far is the baseline: only kills from now on are news.
  absl::StatusOr<std::string> text = sys::ReadFile(memory_events);
  oom_kills_ = text.ok() ? FlatKeyed(*text, "oom_kill") : 0;
  file_ = memory_events;
  inotify_ = std::move(fd);
  return absl::OkStatus();
}

void OomWatcher::Stop() {
  inotify_.Reset();
  file_.clear();
  oom_kills_ = 0;
}

uint64_t OomWatcher::Check() {
  if (!inotify_) return 0;
  alignas(inotify_event) char buf[4096];
  bool gone = false;
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof(buf));
    if (n <= 0) break;
    for (char* at = buf; at < buf + n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(at);
      if (ev->mask & IN_IGNORED) gone = true;  // the group was removed
      at += sizeof(inotify_event) + ev->len;
    }
  }
  uint64_t grew = 0;
  absl::StatusOr<std::string> text = sys::ReadFile(file_);
  if (text.ok()) {
    const uint64_t now = FlatKeyed(*text, "oom_kill");
    if (now > oom_kills_) grew = now - oom_kills_;
    oom_kills_ = now;
  }
  if (gone) Stop();
  return grew;
}

}  // namespace berth::shim
