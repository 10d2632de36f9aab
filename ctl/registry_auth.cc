#include "ctl/registry_auth.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth::ctl {
namespace {

using nlohmann::json;

absl::StatusOr<json> ReadAuthFile(const std::string& file) {
  if (!sys::Exists(file)) return json::object();
  ASSIGN_OR_RETURN(std::string text, sys::ReadFile(file));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": not a JSON object; fix or remove the file"));
  }
  return j;
}

absl::Status WriteAuthFile(const std::string& file, const json& j) {
  RETURN_IF_ERROR(sys::MkdirAll(path::Dir(file), 0700));
  return sys::WriteFileAtomic(file, j.dump(1, '\t') + "\n", 0600);
}

// Docker Hub's keys in Docker's own files.
bool IsHubKey(const std::string& key) { return NormalizeRegistryHost(key) == "docker.io"; }

}  // namespace

std::string AuthFilePath() {
  if (const char* p = getenv("BERTH_AUTH_CONFIG"); p != nullptr && *p != '\0') return p;
  if (const char* x = getenv("XDG_CONFIG_HOME"); x != nullptr && *x == '/') {
    return path::Join(path::Join(x, "berth"), "auth.json");
  }
  const char* home = getenv("HOME");
  return path::Join(home != nullptr && *home == '/' ? home : "/root", ".config/berth/auth.json");
}

std::string NormalizeRegistryHost(const std::string& server) {
  absl::string_view s = server;
  absl::ConsumePrefix(&s, "https://");
  absl::ConsumePrefix(&s, "http://");
  s = s.substr(0, s.find('/'));
  if (s == "index.docker.io" || s == "registry-1.docker.io" || s == "docker.io" || s.empty()) {
    return "docker.io";
  }
  return std::string(s);
}

std::string RegistryOfReference(const std::string& reference) {
  const size_t slash = reference.find('/');
  if (slash == std::string::npos) return "docker.io";
  const std::string first = reference.substr(0, slash);
  if (first.find('.') == std::string::npos && first.find(':') == std::string::npos &&
      first != "localhost") {
    return "docker.io";
  }
  return NormalizeRegistryHost(first);
}

absl::StatusOr<absl::optional<RegistryCredentials>> LoadCredentials(const std::string& registry) {
  const std::string file = AuthFilePath();
  ASSIGN_OR_RETURN(json j, ReadAuthFile(file));
  if (!j.contains("auths") || !j["auths"].is_object()) return absl::nullopt;
  const std::string want = NormalizeRegistryHost(registry);
  for (const auto& [key, entry] : j["auths"].items()) {
    if (NormalizeRegistryHost(key) != want && !(want == "docker.io" && IsHubKey(key))) continue;
    if (!entry.is_object() || !entry.contains("auth") || !entry["auth"].is_string()) continue;
    std::string decoded;
    if (!absl::Base64Unescape(entry["auth"].get<std::string>(), &decoded)) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": the entry for ", key, " is not valid base64"));
    }
    const size_t colon = decoded.find(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": the entry for ", key, " is not user:password"));
    }
    return RegistryCredentials{.username = decoded.substr(0, colon),
                               .password = decoded.substr(colon + 1)};
  }
  return absl::nullopt;
}

absl::Status StoreCredentials(const std::string& registry, const RegistryCredentials& creds) {
  const std::string file = AuthFilePath();
  ASSIGN_OR_RETURN(json j, ReadAuthFile(file));
  if (!j.contains("auths") || !j["auths"].is_object()) j["auths"] = json::object();
  j["auths"][NormalizeRegistryHost(registry)] = {
      {"auth", absl::Base64Escape(absl::StrCat(creds.username, ":", creds.password))}};
  return WriteAuthFile(file, j);
}

absl::StatusOr<bool> RemoveCredentials(const std::string& registry) {
  const std::string file = AuthFilePath();
  ASSIGN_OR_RETURN(json j, ReadAuthFile(file));
  if (!j.contains("auths") || !j["auths"].is_object()) return false;
  const std::string want = NormalizeRegistryHost(registry);
  std::vector<std::string> keys;
  for (const auto& [key, entry] : j["auths"].items()) {
    if (NormalizeRegistryHost(key) == want) keys.push_back(key);
  }
  if (keys.empty()) return false;
  for (const std::string& k : keys) j["auths"].erase(k);
  RETURN_IF_ERROR(WriteAuthFile(file, j));
  return true;
}

}  // namespace berth::ctl
