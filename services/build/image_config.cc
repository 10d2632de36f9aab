#include "services/build/image_config.h"

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth::build {

Json ScratchConfig(const std::string& os, const std::string& architecture) {
  Json doc = {{"architecture", architecture},
              {"os", os},
              {"config", {{"Env", Json::array({absl::StrCat("PATH=", kDefaultPathEnv)})}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", Json::array()}}},
              {"history", Json::array()}};
  return doc;
}

Json ConfigFromBase(Json base) {
  if (!base.is_object()) base = Json::object();
  for (const char* key : {"container", "container_config", "docker_version", "id", "parent"}) {
    base.erase(key);
  }
  if (!base.contains("config") || !base["config"].is_object()) base["config"] = Json::object();
  if (!base.contains("rootfs") || !base["rootfs"].is_object()) {
    base["rootfs"] = {{"type", "layers"}, {"diff_ids", Json::array()}};
  }
  if (!base.contains("history") || !base["history"].is_array()) base["history"] = Json::array();
  return base;
}

Json& RunConfig(Json& doc) {
  if (!doc.contains("config") || !doc["config"].is_object()) doc["config"] = Json::object();
  return doc["config"];
}

std::vector<std::string> StringList(const Json& cfg, const char* key) {
  std::vector<std::string> out;
  auto it = cfg.find(key);
  if (it == cfg.end() || !it->is_array()) return out;
  for (const Json& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::map<std::string, std::string> EnvMap(const Json& cfg) {
  std::map<std::string, std::string> out;
  for (const std::string& e : StringList(cfg, "Env")) {
    const size_t eq = e.find('=');
    if (eq == std::string::npos) {
      out[e] = "";
    } else {
      out[e.substr(0, eq)] = e.substr(eq + 1);
    }
  }
  return out;
}

void SetEnv(Json& cfg, const std::string& name, const std::string& value) {
  std::vector<std::string> env = StringList(cfg, "Env");
  const std::string entry = absl::StrCat(name, "=", value);
  bool replaced = false;
  for (std::string& e : env) {
    if (e == name || e.rfind(name + "=", 0) == 0) {
      e = entry;
      replaced = true;
    }
  }
  if (!replaced) env.push_back(entry);
  cfg["Env"] = env;
}

void AddHistory(Json& doc, const std::string& created_by, absl::Time created, bool empty_layer) {
  Json h = {{"created", Rfc3339(created)}, {"created_by", created_by}};
  if (empty_layer) h["empty_layer"] = true;
  if (!doc.contains("history") || !doc["history"].is_array()) doc["history"] = Json::array();
  doc["history"].push_back(std::move(h));
}

void AddDiffId(Json& doc, const std::string& diff_id) {
  if (!doc.contains("rootfs") || !doc["rootfs"].is_object()) {
    doc["rootfs"] = {{"type", "layers"}, {"diff_ids", Json::array()}};
  }
  doc["rootfs"]["diff_ids"].push_back(diff_id);
}

std::vector<std::string> DiffIds(const Json& doc) {
  auto it = doc.find("rootfs");
  if (it == doc.end() || !it->is_object()) return {};
  return StringList(*it, "diff_ids");
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

absl::optional<absl::Time> ParseRfc3339(const std::string& s) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return t;
  return absl::nullopt;
}

absl::StatusOr<std::vector<std::string>> ParsePorts(const std::string& spec) {
  std::vector<std::string> parts = absl::StrSplit(spec, absl::MaxSplits('/', 1));
  std::string proto = parts.size() == 2 ? parts[1] : "tcp";
  for (char& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat("invalid port \"", spec,
                                                   "\": use PORT[/PROTO] or FROM-TO[/PROTO], "
                                                   "PROTO tcp, udp or sctp"));
  };
  if (proto != "tcp" && proto != "udp" && proto != "sctp") return bad();
  std::vector<std::string> range = absl::StrSplit(parts[0], absl::MaxSplits('-', 1));
  int lo = 0, hi = 0;
  if (!absl::SimpleAtoi(range[0], &lo)) return bad();
  hi = lo;
  if (range.size() == 2 && !absl::SimpleAtoi(range[1], &hi)) return bad();
  if (lo < 0 || hi > 65535 || hi < lo) return bad();
  std::vector<std::string> out;
  for (int p = lo; p <= hi; ++p) out.push_back(absl::StrCat(p, "/", proto));
  return out;
}

absl::StatusOr<int64_t> ParseDurationNanos(const std::string& flag, const std::string& value) {
  absl::Duration d;
  if (!absl::ParseDuration(value, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", value, ": not a duration (e.g. 30s, 1m30s)"));
  }
  if (d != absl::ZeroDuration() && d < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", value, ": cannot be less than 1ms"));
  }
  return absl::ToInt64Nanoseconds(d);
}

}  // namespace berth::build
