#include "runtime/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth::runtime {
namespace {

// cgroup files take one write per value and are not regular files: no temp-and-rename.
absl::Status WriteCgroupFile(const std::string& file, const std::string& value) {
  ASSIGN_OR_RETURN(UniqueFd fd, sys::Open(file, O_WRONLY | O_TRUNC));
  ssize_t n = sys::RetryEintr([&] { return ::write(fd.get(), value.data(), value.size()); });
  if (n < 0) return ErrnoStatus(absl::StrCat("write(", file, ", \"", value, "\")"), errno);
  return absl::OkStatus();
}

std::vector<std::string> Words(const std::string& text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \n"), absl::SkipEmpty());
}

}  // namespace

absl::StatusOr<std::string> FindCgroup2Mount(const std::string& mountinfo) {
  // Fields: id parent major:minor root mountpoint options [optional...] - fstype source super.
  // The last cgroup2 line wins: mounts are listed in the order they were made, so a later one
  // stacked over /sys/fs/cgroup hides the earlier /sys/fs/cgroup/unified.
  std::string found;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (dash == f.end() || dash + 1 == f.end() || f.size() < 5) continue;
    if (*(dash + 1) == "cgroup2") found = std::string(f[4]);
  }
  if (found.empty()) {
    return absl::NotFoundError("no cgroup2 filesystem is mounted (see /proc/self/mountinfo)");
  }
  return found;
}

absl::StatusOr<std::string> FindCgroup2Mount() {
  ASSIGN_OR_RETURN(std::string text, sys::ReadFile("/proc/self/mountinfo"));
  return FindCgroup2Mount(text);
}

absl::StatusOr<Cgroup> Cgroup::Open(const std::string& mount, const std::string& path) {
  // path::Join keeps the result under the mount even for "../../x".
  std::string dir = path::Join(mount, path);
  if (dir == path::Clean(mount)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cgroupsPath \"", path, "\" names the root of the cgroup hierarchy"));
  }
  return Cgroup(path::Clean(mount), dir);
}

absl::StatusOr<std::vector<CgroupWrite>> Cgroup::Applicable(
    const std::vector<CgroupWrite>& writes) const {
  ASSIGN_OR_RETURN(std::string available, sys::ReadFile(path::Join(mount_, "cgroup.controllers")));
  std::vector<std::string> offered = Words(available);
  std::vector<CgroupWrite> out;
  for (const CgroupWrite& w : writes) {
    const bool missing = !w.controller.empty() &&
                         std::find(offered.begin(), offered.end(), w.controller) == offered.end();
    if (missing && w.kernel_default) continue;
    if (missing) {
      return absl::FailedPreconditionError(absl::StrCat(
          w.field, ": the ", w.controller,
          " controller is not available in the cgroup v2 hierarchy at ", mount_,
          " (it offers: ", offered.empty() ? "none" : absl::StrJoin(offered, " "),
          "); on a hybrid host it is bound to a cgroup v1 hierarchy, which berth does not use"));
    }
    out.push_back(w);
  }
  return out;
}

absl::Status Cgroup::EnableControllers(const std::vector<CgroupWrite>& writes) {
  std::vector<std::string> controllers;
  for (const CgroupWrite& w : writes) {
    if (w.controller.empty() ||
        std::find(controllers.begin(), controllers.end(), w.controller) != controllers.end()) {
      continue;
    }
    controllers.push_back(w.controller);
  }
  if (controllers.empty()) return absl::OkStatus();
  // Enable from the root down to our parent: each level must delegate to the next.
  std::string rel(absl::StripPrefix(dir_, mount_));
  std::vector<std::string> parts = absl::StrSplit(rel, '/', absl::SkipEmpty());
  std::string level = mount_;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string file = path::Join(level, "cgroup.subtree_control");
    ASSIGN_OR_RETURN(std::string current, sys::ReadFile(file));
    std::vector<std::string> enabled = Words(current);
    for (const std::string& c : controllers) {
      if (std::find(enabled.begin(), enabled.end(), c) != enabled.end()) continue;
      RETURN_IF_ERROR(WriteCgroupFile(file, "+" + c));
    }
    level = path::Join(level, parts[i]);
    // Intermediate levels are created as we go; the last one is ours, made by Create.
    if (i + 1 < parts.size()) RETURN_IF_ERROR(sys::MkdirAll(level, 0755));
  }
  return absl::OkStatus();
}

absl::Status Cgroup::Create(const std::vector<CgroupWrite>& requested) {
  // Availability is checked before anything is created, so a refusal leaves no trace.
  ASSIGN_OR_RETURN(std::vector<CgroupWrite> writes, Applicable(requested));
  const bool existed = Exists();
  RETURN_IF_ERROR(EnableControllers(writes));
  RETURN_IF_ERROR(sys::MkdirAll(dir_, 0755));
  absl::Status st = Apply(writes);
  if (!st.ok() && !existed) ::rmdir(dir_.c_str());
  return st;
}

absl::Status Cgroup::Apply(const std::vector<CgroupWrite>& writes) {
  for (const CgroupWrite& w : writes) {
    if (absl::Status st = WriteCgroupFile(path::Join(dir_, w.file), w.value); !st.ok()) {
      return Annotate(st, w.field);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> Cgroup::OpenDir() const { return sys::Open(dir_, O_PATH | O_DIRECTORY); }

absl::Status Cgroup::AddProcess(pid_t pid) {
  return WriteCgroupFile(path::Join(dir_, "cgroup.procs"), absl::StrCat(pid));
}

absl::StatusOr<std::vector<pid_t>> Cgroup::Procs() const {
  ASSIGN_OR_RETURN(std::string text, sys::ReadFile(path::Join(dir_, "cgroup.procs")));
  std::vector<pid_t> pids;
  for (const std::string& w : Words(text)) {
    pid_t p = 0;
    if (absl::SimpleAtoi(w, &p)) pids.push_back(p);
  }
  return pids;
}

absl::Status Cgroup::Freeze(bool frozen) {
  const std::string file = path::Join(dir_, "cgroup.freeze");
  RETURN_IF_ERROR(WriteCgroupFile(file, frozen ? "1" : "0"));
  // The write starts the transition; cgroup.events says when it is complete.
  const std::string want = frozen ? "frozen 1" : "frozen 0";
  for (int i = 0; i < 500; ++i) {
    absl::StatusOr<std::string> events = sys::ReadFile(path::Join(dir_, "cgroup.events"));
    if (!events.ok() || events->find(want) != std::string::npos) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("cgroup ", dir_, " did not become ", frozen ? "frozen" : "thawed"));
}

absl::StatusOr<bool> Cgroup::Frozen() const {
  absl::StatusOr<std::string> v = sys::ReadFile(path::Join(dir_, "cgroup.freeze"));
  if (!v.ok()) return v.status();
  return absl::StripAsciiWhitespace(*v) == "1";
}

absl::Status Cgroup::KillAll() {
  const std::string kill_file = path::Join(dir_, "cgroup.kill");
  if (sys::Exists(kill_file)) return WriteCgroupFile(kill_file, "1");
  // Older kernels: signal until empty; new processes forked meanwhile are caught next round.
  for (int round = 0; round < 100; ++round) {
    ASSIGN_OR_RETURN(std::vector<pid_t> pids, Procs());
    if (pids.empty()) return absl::OkStatus();
    for (pid_t p : pids) ::kill(p, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::DeadlineExceededError(absl::StrCat("processes in ", dir_, " survive SIGKILL"));
}

absl::Status Cgroup::Remove() {
  // rmdir fails with EBUSY while dying processes are still being released.
  for (int i = 0; i < 400; ++i) {
    if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return ErrnoStatus(absl::StrCat("rmdir(", dir_, ")"), errno);
}

bool Cgroup::Exists() const {
  struct stat st;
  return ::stat(dir_.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace berth::runtime
