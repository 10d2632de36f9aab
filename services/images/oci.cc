#include "services/images/oci.h"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"

namespace berth::images {
namespace {

using nlohmann::json;

absl::Status Invalid(absl::string_view what, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", why));
}

std::string StringField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

absl::StatusOr<Descriptor> DescriptorFromJson(const json& j, absl::string_view what) {
  if (!j.is_object()) return Invalid(what, "a descriptor is not a JSON object");
  Descriptor d;
  d.media_type = StringField(j, "mediaType");
  d.digest = StringField(j, "digest");
  if (absl::StatusOr<Digest> parsed = Digest::Parse(d.digest); !parsed.ok()) {
    return Invalid(what, absl::StrCat("descriptor digest \"", d.digest,
                                      "\" is not sha256:<64 lowercase hex digits>"));
  }
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return Invalid(what, absl::StrCat("descriptor ", d.digest, " has no valid size"));
  }
  d.size = size->get<int64_t>();
  if (auto a = j.find("annotations"); a != j.end() && a->is_object()) {
    for (const auto& [k, v] : a->items()) {
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
    }
  }
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    d.platform = Platform{.os = StringField(*p, "os"),
                          .architecture = StringField(*p, "architecture"),
                          .variant = StringField(*p, "variant")};
  }
  return d;
}

json DescriptorToJson(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform.has_value()) {
    json p = {{"os", d.platform->os}, {"architecture", d.platform->architecture}};
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    j["platform"] = p;
  }
  return j;
}

absl::StatusOr<json> ParseJson(absl::string_view text, absl::string_view what) {
  if (absl::Status st = CheckDocumentSize(static_cast<int64_t>(text.size()), what); !st.ok()) {
    return st;
  }
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid(what, "not valid JSON");
  if (!j.is_object()) return Invalid(what, "not a JSON object");
  return j;
}

}  // namespace

Kind KindOf(absl::string_view mt) {
  if (mt == kOciIndex || mt == kDockerManifestList) return Kind::kIndex;
  if (mt == kOciManifest || mt == kDockerManifest) return Kind::kManifest;
  if (mt == kOciConfig || mt == kDockerConfig) return Kind::kConfig;
  if (absl::StartsWith(mt, "application/vnd.oci.image.layer.") ||
      absl::StartsWith(mt, "application/vnd.docker.image.rootfs.")) {
    return Kind::kLayer;
  }
  return Kind::kUnknown;
}

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kIndex:
      return "index";
    case Kind::kManifest:
      return "manifest";
    case Kind::kConfig:
      return "config";
    case Kind::kLayer:
      return "layer";
    case Kind::kUnknown:
      break;
  }
  return "blob";
}

std::string Platform::String() const {
  std::string s = absl::StrCat(os, "/", architecture);
  if (!variant.empty()) absl::StrAppend(&s, "/", variant);
  return s;
}

Platform HostPlatform() {
  struct utsname u;
  std::string arch = uname(&u) == 0 ? u.machine : "unknown";
  if (arch == "x86_64") arch = "amd64";
  if (arch == "aarch64") arch = "arm64";
  if (arch == "i686" || arch == "i386") arch = "386";
  return {.os = "linux", .architecture = arch, .variant = ""};
}

bool PlatformMatches(const Platform& want, const Platform& have) {
  if (want.os != have.os || want.architecture != have.architecture) return false;
  return want.variant.empty() || have.variant.empty() || want.variant == have.variant;
}

absl::Status CheckDocumentSize(int64_t size, absl::string_view what) {
  if (size <= kMaxDocumentSize) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, " is ", size, " bytes, over the ",
                                                 kMaxDocumentSize >> 20,
                                                 " MiB limit for manifests, indexes and configs"));
}

absl::StatusOr<Index> ParseIndex(absl::string_view text, absl::string_view what) {
  absl::StatusOr<json> j = ParseJson(text, what);
  if (!j.ok()) return j.status();
  auto m = j->find("manifests");
  if (m == j->end() || !m->is_array()) return Invalid(what, "it has no \"manifests\" array");
  Index index;
  for (const json& d : *m) {
    absl::StatusOr<Descriptor> desc = DescriptorFromJson(d, what);
    if (!desc.ok()) return desc.status();
    index.manifests.push_back(*std::move(desc));
  }
  return index;
}

absl::StatusOr<Manifest> ParseManifest(absl::string_view text, absl::string_view what) {
  absl::StatusOr<json> j = ParseJson(text, what);
  if (!j.ok()) return j.status();
  auto c = j->find("config");
  if (c == j->end()) return Invalid(what, "it has no \"config\"");
  absl::StatusOr<Descriptor> config = DescriptorFromJson(*c, what);
  if (!config.ok()) return config.status();
  Manifest manifest{.config = *std::move(config)};
  auto l = j->find("layers");
  if (l == j->end() || !l->is_array()) return Invalid(what, "it has no \"layers\" array");
  for (const json& d : *l) {
    absl::StatusOr<Descriptor> desc = DescriptorFromJson(d, what);
    if (!desc.ok()) return desc.status();
    manifest.layers.push_back(*std::move(desc));
  }
  return manifest;
}

std::string IndexJson(const Index& index, absl::string_view media_type) {
  json m = json::array();
  for (const Descriptor& d : index.manifests) m.push_back(DescriptorToJson(d));
  return json{{"schemaVersion", 2}, {"mediaType", media_type}, {"manifests", m}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

std::string ManifestJson(const Manifest& manifest, absl::string_view media_type) {
  json layers = json::array();
  for (const Descriptor& d : manifest.layers) layers.push_back(DescriptorToJson(d));
  return json{{"schemaVersion", 2},
              {"mediaType", media_type},
              {"config", DescriptorToJson(manifest.config)},
              {"layers", layers}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace berth::images
