#include "services/volumes/local.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "snapshotter/storage/fsutil.h"

namespace berth::volumes {
namespace {

constexpr char kOptionsFile[] = "opts.json";

struct Flag {
  const char* name;
  unsigned long set;
};
constexpr Flag kFlags[] = {
    {"ro", MS_RDONLY},       {"rw", 0},         {"nosuid", MS_NOSUID},       {"suid", 0},
    {"nodev", MS_NODEV},     {"dev", 0},        {"noexec", MS_NOEXEC},       {"exec", 0},
    {"noatime", MS_NOATIME}, {"bind", MS_BIND}, {"rbind", MS_BIND | MS_REC},
};
// tmpfs's own options; anything else in `o` for a tmpfs is refused rather than passed on.
constexpr const char* kTmpfsData[] = {"size", "nr_blocks", "nr_inodes", "mode", "uid", "gid"};

}  // namespace

std::string VolumesRoot(const std::string& root) { return path::Join(root, "volumes"); }

std::string VolumeDir(const std::string& volumes_root, const std::string& ns,
                      const std::string& name) {
  return path::Join(path::Join(volumes_root, ns), name);
}

std::string DataDir(const std::string& volumes_root, const std::string& ns,
                    const std::string& name) {
  return path::Join(VolumeDir(volumes_root, ns, name), "_data");
}

absl::Status ValidateVolumeName(absl::string_view name) {
  bool ok = name.size() >= 2 && name.size() <= 255;
  for (size_t i = 0; ok && i < name.size(); ++i) {
    const char c = name[i];
    ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         (i > 0 && (c == '_' || c == '.' || c == '-'));
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", name,
        "\" includes invalid characters for a local volume name, only "
        "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed (at least two). If you intended to pass a "
        "host directory, use absolute path"));
  }
  return absl::OkStatus();
}

absl::StatusOr<LocalMount> ParseLocalOptions(const Options& options) {
  LocalMount m;
  for (const auto& [key, value] : options) {
    if (key != "type" && key != "device" && key != "o") {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid option key: \"", key, "\" (the local driver takes type, device and o)"));
    }
  }
  if (options.empty()) return m;
  auto get = [&](const char* k) {
    auto it = options.find(k);
    return it == options.end() ? std::string() : it->second;
  };
  const std::string type = get("type"), device = get("device"), o = get("o");
  std::vector<std::string> data;
  bool bind = false;
  for (absl::string_view opt : absl::StrSplit(o, ',', absl::SkipEmpty())) {
    const Flag* flag = nullptr;
    for (const Flag& f : kFlags) {
      if (opt == f.name) flag = &f;
    }
    if (flag != nullptr) {
      m.flags |= flag->set;
      bind = bind || (flag->set & MS_BIND) != 0;
      continue;
    }
    data.emplace_back(opt);
  }
  if (type == "tmpfs") {
    if (bind) return absl::InvalidArgumentError("local volume: a tmpfs cannot take o=bind");
    for (const std::string& d : data) {
      const std::string key = d.substr(0, d.find('='));
      bool known = false;
      for (const char* k : kTmpfsData) known = known || key == k;
      if (!known) {
        return absl::InvalidArgumentError(
            absl::StrCat("local volume: tmpfs option \"", d,
                         "\" is not supported (size, nr_blocks, nr_inodes, mode, uid, gid and "
                         "ro, nosuid, nodev, noexec, noatime are)"));
      }
      // Values are checked here, not first by mount(2) when a container starts: sizes are
      // digits with an optional k/m/g/t/p/e or % suffix, mode is octal, uid and gid are ids.
      const std::string value = d.size() > key.size() ? d.substr(key.size() + 1) : "";
      std::string digits = value;
      if (key != "mode" && key != "uid" && key != "gid" && !digits.empty() &&
          std::string("kKmMgGtTpPeE%").find(digits.back()) != std::string::npos) {
        digits.pop_back();
      }
      const char* allowed = key == "mode" ? "01234567" : "0123456789";
      if (digits.empty() || digits.size() > 19 ||
          digits.find_first_not_of(allowed) != std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("local volume: tmpfs option \"", d, "\" has an invalid value"));
      }
    }
    m.type = "tmpfs";
    m.device = device.empty() ? "tmpfs" : device;
    m.data = absl::StrJoin(data, ",");
    return m;
  }
  if ((type.empty() || type == "none") && bind) {
    if (!path::IsAbsolute(device)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "local volume: a bind (o=bind) needs device=/absolute/host/path, not \"", device, "\""));
    }
    if (!data.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("local volume: option \"", data[0], "\" does not apply to a bind"));
    }
    struct stat st;
    if (::stat(device.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("local volume: device ", device, " is not a directory on the host"));
    }
    m.type = "bind";
    m.device = device;
    return m;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "local volume: type=\"", type, "\", o=\"", o,
      "\" is not supported; berth's local driver mounts type=tmpfs and binds (type=none,o=bind, "
      "device=/host/dir)"));
}

absl::Status CreateVolumeDir(const std::string& volumes_root, const std::string& ns,
                             const std::string& name, const Options& options) {
  RETURN_IF_ERROR(sys::MkdirAll(volumes_root, 0701));
  RETURN_IF_ERROR(sys::Chmod(volumes_root, 0701));
  const std::string ns_dir = path::Join(volumes_root, ns);
  RETURN_IF_ERROR(sys::MkdirAll(ns_dir, 0701));
  const std::string dir = VolumeDir(volumes_root, ns, name);
  RETURN_IF_ERROR(sys::MkdirAll(path::Join(dir, "_data"), 0755));
  if (options.empty()) return absl::OkStatus();
  nlohmann::json j(options);
  return sys::WriteFileAtomic(path::Join(dir, kOptionsFile), j.dump(), 0600);
}

bool IsMountPoint(const std::string& p) {
  struct statx sx;
  if (::statx(AT_FDCWD, p.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) != 0) {
    return false;
  }
  return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0 &&
         (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

absl::Status EnsureMounted(const std::string& volume_dir) {
  const std::string file = path::Join(volume_dir, kOptionsFile);
  if (!sys::Exists(file)) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string text, sys::ReadFile(file));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  Options options;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.value().is_string()) options[it.key()] = it.value().get<std::string>();
    }
  }
  ASSIGN_OR_RETURN(LocalMount m, ParseLocalOptions(options));
  const std::string data = path::Join(volume_dir, "_data");
  if (m.type.empty() || IsMountPoint(data)) return absl::OkStatus();
  if (m.type == "tmpfs") {
    if (::mount(m.device.c_str(), data.c_str(), "tmpfs", m.flags, m.data.c_str()) != 0) {
      return ErrnoStatus(absl::StrCat("mount(tmpfs, ", data, ", ", m.data, ")"), errno);
    }
    return absl::OkStatus();
  }
  if (::mount(m.device.c_str(), data.c_str(), nullptr, MS_BIND | (m.flags & MS_REC), nullptr) !=
      0) {
    return ErrnoStatus(absl::StrCat("mount(", m.device, ", ", data, ", bind)"), errno);
  }
  const unsigned long extra = m.flags & ~(MS_BIND | MS_REC);
  if (extra != 0 &&
      ::mount("", data.c_str(), nullptr, MS_REMOUNT | MS_BIND | extra, nullptr) != 0) {
    const int err = errno;
    ::umount2(data.c_str(), MNT_DETACH);
    return ErrnoStatus(absl::StrCat("mount(", data, ", remount bind)"), err);
  }
  return absl::OkStatus();
}

absl::Status RemoveVolumeDir(const std::string& volume_dir) {
  const std::string data = path::Join(volume_dir, "_data");
  // Every mount stacked there (a bind may sit on a tmpfs after a crash), never descending
  // into one: RemoveAll stays on the volume directory's filesystem.
  for (int i = 0; i < 8 && IsMountPoint(data); ++i) {
    if (::umount2(data.c_str(), 0) != 0 && ::umount2(data.c_str(), MNT_DETACH) != 0) {
      return ErrnoStatus(absl::StrCat("umount(", data, ")"), errno);
    }
  }
  if (!sys::Exists(volume_dir)) return absl::OkStatus();
  return snapshotter::RemoveAll(volume_dir);
}

}  // namespace berth::volumes
