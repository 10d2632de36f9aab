#include "runtime/state.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth::runtime {

using json = nlohmann::json;

const char* StatusName(Status s) {
  switch (s) {
    case Status::kCreating:
      return "creating";
    case Status::kCreated:
      return "created";
    case Status::kRunning:
      return "running";
    case Status::kPaused:
      return "paused";
    case Status::kStopped:
      return "stopped";
  }
  return "unknown";
}

absl::Status ValidateId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 1024 && id != "." && id != "..";
  for (char c : id) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
                c == '.' || c == '+');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid container id \"", id, "\": use letters, digits, '_', '-', '+' and '.'"));
  }
  return absl::OkStatus();
}

uint64_t ProcessStartTime(pid_t pid) {
  absl::StatusOr<std::string> stat = sys::ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return 0;
  // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<absl::string_view> f =
      absl::StrSplit(absl::string_view(*stat).substr(close + 2), ' ');
  // f[0] is field 3 (state); field 22 (starttime) is f[19].
  if (f.size() < 20 || f[0] == "Z" || f[0] == "X") return 0;
  uint64_t start = 0;
  return absl::SimpleAtoi(f[19], &start) ? start : 0;
}

std::string StateStore::Dir(const std::string& id) const { return path::Join(root_, id); }

std::string StateStore::StartSocket(const std::string& id) const {
  return path::Join(Dir(id), "start.sock");
}

absl::Status StateStore::Reserve(const std::string& id) {
  RETURN_IF_ERROR(ValidateId(id));
  RETURN_IF_ERROR(sys::MkdirAll(root_, 0711));
  if (::mkdir(Dir(id).c_str(), 0711) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat("container \"", id, "\" already exists"));
    }
    return ErrnoStatus(absl::StrCat("mkdir(", Dir(id), ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status StateStore::Save(const ContainerState& s) {
  json j = {{"id", s.id},
            {"pid", s.pid},
            {"pidStartTime", s.pid_start_time},
            {"bundle", s.bundle},
            {"rootfs", s.rootfs},
            {"created", s.created},
            {"cgroupDir", s.cgroup_dir},
            {"annotations", s.annotations},
            {"ociVersion", s.oci_version}};
  return sys::WriteFileAtomic(path::Join(Dir(s.id), "state.json"), j.dump(), 0600,
                              sys::Durability::kVolatile);
}

absl::Status StateStore::SaveConfig(const std::string& id, const std::string& config_json) {
  return sys::WriteFileAtomic(path::Join(Dir(id), "config.json"), config_json, 0600,
                              sys::Durability::kVolatile);
}

absl::StatusOr<std::string> StateStore::LoadConfig(const std::string& id) const {
  return sys::ReadFile(path::Join(Dir(id), "config.json"));
}

absl::StatusOr<ContainerState> StateStore::Load(const std::string& id) const {
  RETURN_IF_ERROR(ValidateId(id));
  absl::StatusOr<std::string> text = sys::ReadFile(path::Join(Dir(id), "state.json"));
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(absl::StrCat("container \"", id, "\" does not exist"));
    }
    return text.status();
  }
  try {
    json j = json::parse(*text);
    ContainerState s;
    s.id = j.at("id").get<std::string>();
    s.pid = j.at("pid").get<pid_t>();
    s.pid_start_time = j.at("pidStartTime").get<uint64_t>();
    s.bundle = j.at("bundle").get<std::string>();
    s.rootfs = j.at("rootfs").get<std::string>();
    s.created = j.at("created").get<std::string>();
    s.cgroup_dir = j.at("cgroupDir").get<std::string>();
    s.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    s.oci_version = j.at("ociVersion").get<std::string>();
    return s;
  } catch (const json::exception& e) {
    return absl::DataLossError(
        absl::StrCat("state of container \"", id, "\" is corrupt: ", e.what()));
  }
}

absl::Status StateStore::Remove(const std::string& id) {
  RETURN_IF_ERROR(ValidateId(id));
  const std::string dir = Dir(id);
  for (const char* f : {"state.json", "config.json", "start.sock"}) {
    RETURN_IF_ERROR(sys::RemoveIfExists(path::Join(dir, f)));
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(absl::StrCat("rmdir(", dir, ")"), errno);
  }
  return absl::OkStatus();
}

std::string StateStore::SeccompCache() const { return path::Join(root_, ".seccomp-cache"); }

absl::StatusOr<std::vector<std::string>> StateStore::List() const {
  std::vector<std::string> ids;
  DIR* d = ::opendir(root_.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return ids;
    return ErrnoStatus(absl::StrCat("opendir(", root_, ")"), errno);
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (sys::Exists(path::Join(path::Join(root_, name), "state.json"))) ids.push_back(name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status StateStore::StatusOf(const ContainerState& s) const {
  if (s.pid <= 0 || ProcessStartTime(s.pid) != s.pid_start_time) return Status::kStopped;
  if (sys::Exists(StartSocket(s.id))) return Status::kCreated;
  if (!s.cgroup_dir.empty()) {
    absl::StatusOr<std::string> frozen = sys::ReadFile(path::Join(s.cgroup_dir, "cgroup.freeze"));
    if (frozen.ok() && !frozen->empty() && (*frozen)[0] == '1') return Status::kPaused;
  }
  return Status::kRunning;
}

std::string StateJsonAs(const ContainerState& s, Status st) {
  json j = {{"ociVersion", s.oci_version}, {"id", s.id},
            {"status", StatusName(st)},    {"pid", st == Status::kStopped ? 0 : s.pid},
            {"bundle", s.bundle},          {"rootfs", s.rootfs},
            {"created", s.created},        {"owner", ""}};
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j.dump(2);
}

std::string StateStore::StateJson(const ContainerState& s) const {
  return StateJsonAs(s, StatusOf(s));
}

}  // namespace berth::runtime
