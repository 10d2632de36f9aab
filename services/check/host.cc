#include "services/check/host.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/path.h"
#include "common/syscall.h"

namespace berth::check {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const absl::string_view oct = s.substr(i + 1, 3);
      if (std::all_of(oct.begin(), oct.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out.push_back(static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

std::vector<MountEntry> ParseMountInfo(const std::string& text) {
  // Fields: id parent major:minor root mountpoint options [optional…] - fstype source super.
  std::vector<MountEntry> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash - f.begin() < 6) continue;
    MountEntry e;
    e.mount_point = Unescape(f[4]);
    if (dash + 1 != f.end()) e.fstype = std::string(*(dash + 1));
    if (dash + 1 != f.end() && dash + 2 != f.end()) e.source = Unescape(*(dash + 2));
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::string> Cgroup2Mount(const std::vector<MountEntry>& mounts) {
  std::string found;
  for (const MountEntry& m : mounts) {
    if (m.fstype == "cgroup2") found = m.mount_point;
  }
  if (found.empty()) {
    return absl::NotFoundError("no cgroup2 filesystem is mounted (see /proc/self/mountinfo)");
  }
  return found;
}

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") out.push_back(name);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> SubDirs(const std::string& dir) {
  std::vector<std::string> out;
  for (const std::string& name : DirEntries(dir)) {
    struct stat st;
    if (::lstat(path::Join(dir, name).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      out.push_back(name);
    }
  }
  return out;
}

bool ProcessAlive(pid_t pid, const std::string& proc) {
  if (pid <= 0) return false;
  absl::StatusOr<std::string> stat = sys::ReadFile(absl::StrCat(proc, "/", pid, "/stat"));
  if (!stat.ok()) return false;
  // "pid (comm) S …": the state follows the last ')', as comm may hold anything.
  const size_t close = stat->rfind(')');
  if (close == std::string::npos || close + 2 >= stat->size()) return false;
  const char state = (*stat)[close + 2];
  return state != 'Z' && state != 'X';
}

std::vector<std::string> CommandLine(pid_t pid, const std::string& proc) {
  absl::StatusOr<std::string> raw = sys::ReadFile(absl::StrCat(proc, "/", pid, "/cmdline"));
  if (!raw.ok() || raw->empty()) return {};
  if (raw->back() == '\0') raw->pop_back();
  return absl::StrSplit(*raw, '\0');
}

std::vector<ShimProcess> FindShims(const std::string& proc) {
  std::vector<ShimProcess> out;
  for (const std::string& name : DirEntries(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(name, &pid) || pid <= 0) continue;
    std::vector<std::string> argv = CommandLine(pid, proc);
    if (argv.empty() || path::Base(argv[0]) != "berth-shim") continue;
    if (!ProcessAlive(pid, proc)) continue;
    ShimProcess s;
    s.pid = pid;
    for (size_t i = 1; i + 1 < argv.size(); ++i) {
      if (argv[i] == "--state") s.state_dir = path::Clean(argv[i + 1]);
      if (argv[i] == "--id") s.id = argv[i + 1];
    }
    if (!s.state_dir.empty()) out.push_back(std::move(s));
  }
  return out;
}

bool CgroupPopulated(const std::string& dir) {
  absl::StatusOr<std::string> events = sys::ReadFile(path::Join(dir, "cgroup.events"));
  if (!events.ok()) {
    // No cgroup.events (not cgroup2?): fall back to the processes listed here.
    absl::StatusOr<std::string> procs = sys::ReadFile(path::Join(dir, "cgroup.procs"));
    return procs.ok() && !procs->empty();
  }
  for (absl::string_view line : absl::StrSplit(*events, '\n', absl::SkipEmpty())) {
    if (line == "populated 1") return true;
  }
  return false;
}

}  // namespace berth::check
