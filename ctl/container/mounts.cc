#include "ctl/container/mounts.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "ctl/container/run_flags.h"

namespace berth::ctl {
namespace {

using json = nlohmann::json;

constexpr const char* kPropagations[] = {"shared", "rshared", "slave",
                                         "rslave", "private", "rprivate"};

bool IsPropagation(absl::string_view s) {
  return std::find(std::begin(kPropagations), std::end(kPropagations), s) !=
         std::end(kPropagations);
}

absl::Status InvalidSpec(absl::string_view raw) {
  return absl::InvalidArgumentError(absl::StrCat("invalid spec: ", raw));
}

// Docker's volume name rule, checked before anything reaches the daemon.
absl::Status CheckVolumeName(absl::string_view name) {
  bool ok = name.size() >= 2;
  for (size_t i = 0; ok && i < name.size(); ++i) {
    const char c = name[i];
    ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         (i > 0 && (c == '_' || c == '.' || c == '-'));
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "create ", name, ": \"", name,
      "\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" "
      "are allowed. If you intended to pass a host directory, use absolute path"));
}

absl::Status CheckTarget(const MountRequest& m) {
  const char* type = m.type == MountRequest::Type::kBind    ? "bind"
                     : m.type == MountRequest::Type::kTmpfs ? "tmpfs"
                                                            : "volume";
  if (m.target.empty()) return absl::InvalidArgumentError("target is required");
  if (!path::IsAbsolute(m.target)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid mount config for type \"", type,
                                                   "\": invalid mount path: '", m.target,
                                                   "' mount path must be absolute"));
  }
  if (path::Clean(m.target) == "/") {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid mount config for type \"", type,
                     "\": invalid specification: destination can't be '/'"));
  }
  return absl::OkStatus();
}

absl::Status CheckSource(const MountRequest& m) {
  switch (m.type) {
    case MountRequest::Type::kBind:
      if (m.source.empty()) {
        return absl::InvalidArgumentError(
            "invalid mount config for type \"bind\": field Source must not be empty");
      }
      if (!path::IsAbsolute(m.source)) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid mount config for type \"bind\": invalid mount path: '", m.source,
                         "' mount path must be absolute"));
      }
      return absl::OkStatus();
    case MountRequest::Type::kTmpfs:
      if (!m.source.empty()) {
        return absl::InvalidArgumentError(
            "invalid mount config for type \"tmpfs\": field Source must not be specified");
      }
      return absl::OkStatus();
    case MountRequest::Type::kVolume:
      return m.source.empty() ? absl::OkStatus() : CheckVolumeName(m.source);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> ParseBool(absl::string_view key, absl::string_view value) {
  const std::string v = absl::AsciiStrToLower(value);
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value for ", key, ": ", value, " (true or false)"));
}

size_t Depth(const std::string& p) {
  return static_cast<size_t>(std::count(p.begin(), p.end(), '/')) - (p == "/" ? 1 : 0);
}

}  // namespace

absl::StatusOr<MountRequest> ParseVolumeFlag(absl::string_view raw) {
  if (raw.empty()) return InvalidSpec(raw);
  std::vector<std::string> parts = absl::StrSplit(raw, ':');
  MountRequest m;
  std::string mode;
  switch (parts.size()) {
    case 1:
      m.target = parts[0];
      break;
    case 2:
      m.source = parts[0];
      m.target = parts[1];
      if (!m.target.empty() && m.target[0] != '/') {
        // "/foo:ro": a mode with no source is not a volume.
        bool all_modes = true;
        for (absl::string_view o : absl::StrSplit(m.target, ',')) {
          all_modes = all_modes && (o == "ro" || o == "rw" || o == "z" || o == "Z" ||
                                    o == "nocopy" || IsPropagation(o));
        }
        if (all_modes) return InvalidSpec(raw);
      }
      break;
    case 3:
      m.source = parts[0];
      m.target = parts[1];
      mode = parts[2];
      break;
    default:
      return InvalidSpec(raw);
  }
  if (m.target.empty() || (parts.size() > 1 && m.source.empty())) return InvalidSpec(raw);
  bool rw_seen = false, label_seen = false, copy_seen = false, prop_seen = false;
  for (absl::string_view o : absl::StrSplit(mode, ',', absl::SkipEmpty())) {
    bool dup = false;
    if (o == "ro" || o == "rw") {
      dup = rw_seen;
      rw_seen = true;
      m.readonly = o == "ro";
    } else if (o == "z" || o == "Z") {
      dup = label_seen;
      label_seen = true;
    } else if (o == "nocopy") {
      dup = copy_seen;
      copy_seen = true;
      m.nocopy = true;
    } else if (IsPropagation(o)) {
      dup = prop_seen;
      prop_seen = true;
      m.propagation = std::string(o);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid mode: ", mode));
    }
    if (dup) return absl::InvalidArgumentError(absl::StrCat("invalid mode: ", mode));
  }
  m.type = path::IsAbsolute(m.source) ? MountRequest::Type::kBind : MountRequest::Type::kVolume;
  if (m.type == MountRequest::Type::kVolume && !m.propagation.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid mode: ", mode, " (a propagation applies to binds only)"));
  }
  if (m.type == MountRequest::Type::kBind && m.nocopy) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid mode: ", mode, " (nocopy applies to volumes only)"));
  }
  RETURN_IF_ERROR(CheckTarget(m));
  RETURN_IF_ERROR(CheckSource(m));
  m.target = path::Clean(m.target);
  if (m.type == MountRequest::Type::kBind) m.source = path::Clean(m.source);
  return m;
}

absl::StatusOr<MountRequest> ParseMountFlag(absl::string_view raw) {
  MountRequest m;
  bool have_type = false;
  std::set<std::string> bind_keys, volume_keys, tmpfs_keys;
  int64_t tmpfs_size = -1;
  std::string tmpfs_mode;
  // CSV as Docker reads it; a field in double quotes may hold commas.
  std::vector<std::string> fields;
  {
    std::string cur;
    bool quoted = false;
    for (char c : raw) {
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        fields.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    fields.push_back(cur);
  }
  for (const std::string& field : fields) {
    const size_t eq = field.find('=');
    const std::string key = absl::AsciiStrToLower(field.substr(0, eq));
    const bool has_value = eq != std::string::npos;
    const std::string value = has_value ? field.substr(eq + 1) : "";
    if (!has_value) {
      // Flags that may stand alone, meaning true.
      if (key == "readonly" || key == "ro") {
        m.readonly = true;
        continue;
      }
      if (key == "volume-nocopy") {
        m.nocopy = true;
        volume_keys.insert(key);
        continue;
      }
      if (key == "bind-nonrecursive") {
        m.recursive = false;
        bind_keys.insert(key);
        continue;
      }
      return absl::InvalidArgumentError(
          absl::StrCat("invalid field '", field, "' must be a key=value pair"));
    }
    if (key == "type") {
      have_type = true;
      if (value == "volume") {
        m.type = MountRequest::Type::kVolume;
      } else if (value == "bind") {
        m.type = MountRequest::Type::kBind;
      } else if (value == "tmpfs") {
        m.type = MountRequest::Type::kTmpfs;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("invalid mount type \"", value,
                                                       "\": berth mounts volume, bind and tmpfs"));
      }
    } else if (key == "source" || key == "src") {
      m.source = value;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = value;
    } else if (key == "readonly" || key == "ro") {
      ASSIGN_OR_RETURN(m.readonly, ParseBool(key, value));
    } else if (key == "consistency") {
      // macOS only in Docker; accepted and ignored, as on Linux.
    } else if (key == "bind-propagation") {
      if (!IsPropagation(value)) {
        return absl::InvalidArgumentError(absl::StrCat("invalid bind-propagation \"", value, "\""));
      }
      m.propagation = value;
      bind_keys.insert(key);
    } else if (key == "bind-nonrecursive") {
      ASSIGN_OR_RETURN(bool v, ParseBool(key, value));
      m.recursive = !v;
      bind_keys.insert(key);
    } else if (key == "volume-nocopy") {
      ASSIGN_OR_RETURN(m.nocopy, ParseBool(key, value));
      volume_keys.insert(key);
    } else if (key == "volume-driver") {
      m.driver = value;
      volume_keys.insert(key);
    } else if (key == "volume-label" || key == "volume-opt") {
      const size_t e = value.find('=');
      if (e == std::string::npos || e == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid field '", field, "': ", key, " takes key=value"));
      }
      auto& into = key == "volume-label" ? m.volume_labels : m.volume_options;
      into[value.substr(0, e)] = value.substr(e + 1);
      volume_keys.insert(key);
    } else if (key == "tmpfs-size") {
      absl::StatusOr<int64_t> size = ParseMemoryBytes(value);
      if (!size.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("invalid value for tmpfs-size: ", value));
      }
      tmpfs_size = *size;
      tmpfs_keys.insert(key);
    } else if (key == "tmpfs-mode") {
      unsigned mode = 0;
      bool ok = !value.empty() && value.size() <= 5;
      for (char c : value) ok = ok && c >= '0' && c <= '7';
      if (ok) mode = static_cast<unsigned>(std::stoul(value, nullptr, 8));
      if (!ok || mode > 07777) {
        return absl::InvalidArgumentError(absl::StrCat("invalid value for tmpfs-mode: ", value));
      }
      char buf[8];
      snprintf(buf, sizeof(buf), "%o", mode);
      tmpfs_mode = absl::StrCat("mode=", buf);
      tmpfs_keys.insert(key);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected key '", key, "' in '", field, "'"));
    }
  }
  (void)have_type;
  const char* type = m.type == MountRequest::Type::kBind    ? "bind"
                     : m.type == MountRequest::Type::kTmpfs ? "tmpfs"
                                                            : "volume";
  auto mix = [&](const std::set<std::string>& keys, MountRequest::Type allowed, const char* kind) {
    if (keys.empty() || m.type == allowed) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("cannot mix '", kind, "-*' options with mount type '", type, "'"));
  };
  RETURN_IF_ERROR(mix(bind_keys, MountRequest::Type::kBind, "bind"));
  RETURN_IF_ERROR(mix(volume_keys, MountRequest::Type::kVolume, "volume"));
  RETURN_IF_ERROR(mix(tmpfs_keys, MountRequest::Type::kTmpfs, "tmpfs"));
  RETURN_IF_ERROR(CheckTarget(m));
  RETURN_IF_ERROR(CheckSource(m));
  m.target = path::Clean(m.target);
  if (m.type == MountRequest::Type::kBind) m.source = path::Clean(m.source);
  if (tmpfs_size >= 0) m.tmpfs_options.push_back(absl::StrCat("size=", tmpfs_size));
  if (!tmpfs_mode.empty()) m.tmpfs_options.push_back(tmpfs_mode);
  return m;
}

absl::StatusOr<VolumesFrom> ParseVolumesFrom(absl::string_view raw) {
  std::vector<std::string> parts = absl::StrSplit(raw, ':');
  VolumesFrom v;
  if (parts.empty() || parts.size() > 2 || parts[0].empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid --volumes-from: \"", raw, "\""));
  }
  v.container = parts[0];
  if (parts.size() == 2) {
    if (parts[1] == "ro") {
      v.readonly = true;
    } else if (parts[1] == "rw") {
      v.readonly = false;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid mode for volumes-from: ", parts[1]));
    }
  }
  return v;
}

std::vector<std::string> ImageVolumes(const json& image_config) {
  const json* cfg = &image_config;
  if (image_config.is_object() && image_config.contains("config") &&
      image_config["config"].is_object()) {
    cfg = &image_config["config"];
  }
  std::vector<std::string> out;
  if (!cfg->is_object()) return out;
  auto it = cfg->find("Volumes");
  if (it == cfg->end() || !it->is_object()) return out;
  for (auto v = it->begin(); v != it->end(); ++v) {
    if (path::IsAbsolute(v.key()) && path::Clean(v.key()) != "/") {
      out.push_back(path::Clean(v.key()));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

json OciMount(const MountRequest& m, const std::string& host_source) {
  if (m.type == MountRequest::Type::kTmpfs) {
    std::vector<std::string> options = {"nosuid", "nodev", "noexec"};
    if (m.readonly) options.push_back("ro");
    options.insert(options.end(), m.tmpfs_options.begin(), m.tmpfs_options.end());
    return {
        {"destination", m.target}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", options}};
  }
  std::vector<std::string> options = {m.recursive ? "rbind" : "bind",
                                      m.propagation.empty() ? "rprivate" : m.propagation};
  if (m.readonly) options.push_back("ro");
  return {
      {"destination", m.target}, {"type", "bind"}, {"source", host_source}, {"options", options}};
}

void AddMountsToSpec(json& spec, std::vector<json> mounts, const std::vector<std::string>& nocopy) {
  if (mounts.empty()) return;
  std::set<std::string> targets;
  for (const json& m : mounts) targets.insert(m.value("destination", ""));
  json kept = json::array();
  if (spec.contains("mounts") && spec["mounts"].is_array()) {
    for (const json& m : spec["mounts"]) {
      if (targets.count(path::Clean(m.value("destination", ""))) == 0) kept.push_back(m);
    }
  }
  std::stable_sort(mounts.begin(), mounts.end(), [](const json& a, const json& b) {
    return Depth(a.value("destination", "")) < Depth(b.value("destination", ""));
  });
  json user = json::array();
  for (json& m : mounts) {
    if (m.value("type", "") == "bind") user.push_back(m.value("destination", ""));
    kept.push_back(std::move(m));
  }
  spec["mounts"] = std::move(kept);
  if (!user.empty()) spec["annotations"][kMountsAnnotation] = user.dump();
  if (!nocopy.empty()) spec["annotations"][kNoCopyAnnotation] = json(nocopy).dump();
}

std::vector<json> UserMounts(const json& spec) {
  std::vector<json> out;
  if (!spec.is_object() || !spec.contains("annotations") || !spec["annotations"].is_object()) {
    return out;
  }
  auto it = spec["annotations"].find(kMountsAnnotation);
  if (it == spec["annotations"].end() || !it->is_string()) return out;
  json list = json::parse(it->get<std::string>(), nullptr, false);
  if (!list.is_array() || !spec.contains("mounts") || !spec["mounts"].is_array()) return out;
  std::set<std::string> wanted;
  for (const json& d : list) {
    if (d.is_string()) wanted.insert(d.get<std::string>());
  }
  for (const json& m : spec["mounts"]) {
    if (m.is_object() && wanted.count(m.value("destination", "")) > 0) out.push_back(m);
  }
  return out;
}

absl::Status CheckDuplicate(const std::vector<std::string>& targets, const std::string& target) {
  if (std::find(targets.begin(), targets.end(), target) != targets.end()) {
    return absl::InvalidArgumentError(absl::StrCat("Duplicate mount point: ", target));
  }
  return absl::OkStatus();
}

}  // namespace berth::ctl
