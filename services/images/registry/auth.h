// Registry authentication: the WWW-Authenticate challenges a registry answers 401 with
// (RFC 7235 syntax), Basic credentials, and the bearer-token flow of the distribution
// token spec (GET <realm>?service=…&scope=repository:<name>:pull,push, with Basic
// credentials if there are any, or an OAuth2 refresh-token POST for an identity token).
#ifndef BERTH_SERVICES_IMAGES_REGISTRY_AUTH_H_
#define BERTH_SERVICES_IMAGES_REGISTRY_AUTH_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/images/registry/http.h"

namespace berth::registry {

struct Credentials {
  std::string username;
  // A password, or (with an empty username) an identity token, as Docker's config keeps it.
  std::string password;
  bool empty() const { return username.empty() && password.empty(); }
};

struct Challenge {
  std::string scheme;                         // lowercased: "basic", "bearer"
  std::map<std::string, std::string> params;  // keys lowercased: realm, service, scope…
};

// Parses every challenge in the header values (several may share one header, comma
// separated). Unparseable parts are skipped.
std::vector<Challenge> ParseChallenges(const std::vector<std::string>& headers);

// "Basic base64(user:password)".
std::string BasicAuthorization(const Credentials& creds);

// "repository:library/busybox:pull" or "…:pull,push".
std::string RepositoryScope(absl::string_view path, bool push);

// Answers `challenge` (bearer) by asking its realm for a token for `scopes`; returns the
// Authorization header value. UNAUTHENTICATED when the token server refuses.
absl::StatusOr<std::string> FetchBearerToken(const Challenge& challenge,
                                             const std::vector<std::string>& scopes,
                                             const Credentials& creds, const TlsOptions& tls);

}  // namespace berth::registry

#endif  // BERTH_SERVICES_IMAGES_REGISTRY_AUTH_H_
