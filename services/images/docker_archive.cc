#include "services/images/docker_archive.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace berth::images {
namespace {

using nlohmann::json;

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(kDockerManifestFile, ": ", why));
}

}  // namespace

absl::StatusOr<std::vector<DockerArchiveEntry>> ParseDockerManifestFile(absl::string_view text) {
  if (absl::Status st = CheckDocumentSize(static_cast<int64_t>(text.size()), kDockerManifestFile);
      !st.ok()) {
    return st;
  }
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid("not valid JSON");
  if (!j.is_array()) return Invalid("not a JSON array of images");
  std::vector<DockerArchiveEntry> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const json& e = j[i];
    const std::string where = absl::StrCat("entry ", i);
    if (!e.is_object()) return Invalid(absl::StrCat(where, " is not an object"));
    DockerArchiveEntry entry;
    auto config = e.find("Config");
    if (config == e.end() || !config->is_string() || config->get<std::string>().empty()) {
      return Invalid(absl::StrCat(where, " has no \"Config\" path"));
    }
    entry.config = config->get<std::string>();
    if (auto tags = e.find("RepoTags"); tags != e.end() && !tags->is_null()) {
      if (!tags->is_array()) return Invalid(absl::StrCat(where, ": \"RepoTags\" is not an array"));
      for (const json& t : *tags) {
        if (!t.is_string()) return Invalid(absl::StrCat(where, ": a RepoTag is not a string"));
        entry.repo_tags.push_back(t.get<std::string>());
      }
    }
    auto layers = e.find("Layers");
    if (layers == e.end() || !layers->is_array()) {
      return Invalid(absl::StrCat(where, " has no \"Layers\" array"));
    }
    for (const json& l : *layers) {
      if (!l.is_string() || l.get<std::string>().empty()) {
        return Invalid(absl::StrCat(where, ": a layer path is not a string"));
      }
      entry.layers.push_back(l.get<std::string>());
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::string DockerManifestFileJson(const std::vector<DockerArchiveEntry>& entries) {
  json out = json::array();
  for (const DockerArchiveEntry& e : entries) {
    out.push_back({{"Config", e.config}, {"RepoTags", e.repo_tags}, {"Layers", e.layers}});
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string LayerMediaTypeFromMagic(absl::string_view head) {
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
      static_cast<unsigned char>(head[1]) == 0x8b) {
    return kDockerLayerGzip;
  }
  if (head.size() >= 4 && head.substr(0, 4) == absl::string_view("\x28\xb5\x2f\xfd", 4)) {
    return kOciLayerZstd;
  }
  return kDockerLayer;
}

Manifest DockerSchema2Manifest(const Descriptor& config, const std::vector<Descriptor>& layers) {
  Manifest m;
  m.config = {.media_type = kDockerConfig, .digest = config.digest, .size = config.size};
  for (const Descriptor& l : layers) {
    m.layers.push_back({.media_type = l.media_type, .digest = l.digest, .size = l.size});
  }
  return m;
}

}  // namespace berth::images
