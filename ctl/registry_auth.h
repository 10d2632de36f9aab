// The CLI's registry credentials: a JSON file in Docker's config.json shape, mode 0600,
//
//   { "auths": { "localhost:5000": { "auth": "<base64 of user:password>" } } }
//
// at $BERTH_AUTH_CONFIG, else ${XDG_CONFIG_HOME:-$HOME/.config}/berth/auth.json. The daemon
// keeps no credentials: pull and push send the entry for the image's registry with the
// request.
#ifndef BERTH_CTL_REGISTRY_AUTH_H_
#define BERTH_CTL_REGISTRY_AUTH_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"

namespace berth::ctl {

struct RegistryCredentials {
  std::string username;
  std::string password;
};

// The credentials file's path.
std::string AuthFilePath();

// The registry host a reference or a login argument names, as references spell it:
// "busybox" → "docker.io", "localhost:5000/x" → "localhost:5000",
// "https://index.docker.io/v1/" → "docker.io", "https://reg:5000/" → "reg:5000".
std::string RegistryOfReference(const std::string& reference);
std::string NormalizeRegistryHost(const std::string& server);

// The stored credentials for `registry` (none when the file or the entry is absent).
absl::StatusOr<absl::optional<RegistryCredentials>> LoadCredentials(const std::string& registry);
// Adds or replaces the entry (file and directory created 0600 / 0700, written atomically).
absl::Status StoreCredentials(const std::string& registry, const RegistryCredentials& creds);
// Removes the entry; false when there was none.
absl::StatusOr<bool> RemoveCredentials(const std::string& registry);

}  // namespace berth::ctl

#endif  // BERTH_CTL_REGISTRY_AUTH_H_
