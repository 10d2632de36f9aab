#include "services/images/registry/auth.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace berth::registry {
namespace {

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

class ChallengeParser {
 public:
  explicit ChallengeParser(absl::string_view s) : s_(s) {}

  void Run(std::vector<Challenge>* out) {
    while (SkipSpaceAndCommas(), i_ < s_.size()) {
      std::string scheme = Token();
      if (scheme.empty()) {
        ++i_;  // garbage: skip a character and look again
        continue;
      }
      Challenge c{.scheme = absl::AsciiStrToLower(scheme), .params = {}};
      // Parameters: name=value or name="quoted", comma separated, until the next scheme.
      for (;;) {
        SkipSpaceAndCommas();
        const size_t start = i_;
        std::string name = Token();
        SkipSpace();
        if (name.empty() || i_ >= s_.size() || s_[i_] != '=') {
          i_ = start;  // the next challenge's scheme (or the end)
          break;
        }
        ++i_;
        SkipSpace();
        std::string value = i_ < s_.size() && s_[i_] == '"' ? Quoted() : Token();
        c.params[absl::AsciiStrToLower(name)] = std::move(value);
      }
      out->push_back(std::move(c));
    }
  }

 private:
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  void SkipSpaceAndCommas() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == ',')) ++i_;
  }
  std::string Token() {
    const size_t start = i_;
    while (i_ < s_.size() && IsTokenChar(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  std::string Quoted() {
    std::string v;
    ++i_;  // opening quote
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      v.push_back(s_[i_++]);
    }
    if (i_ < s_.size()) ++i_;  // closing quote
    return v;
  }

  absl::string_view s_;
  size_t i_ = 0;
};

std::string UrlEncode(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "%",
                      absl::AsciiStrToUpper(absl::BytesToHexString(absl::string_view(&c, 1))));
    }
  }
  return out;
}

std::string Param(const Challenge& c, const char* key) {
  auto it = c.params.find(key);
  return it == c.params.end() ? "" : it->second;
}

}  // namespace

std::vector<Challenge> ParseChallenges(const std::vector<std::string>& headers) {
  std::vector<Challenge> out;
  for (const std::string& h : headers) ChallengeParser(h).Run(&out);
  return out;
}

std::string BasicAuthorization(const Credentials& creds) {
  return absl::StrCat("Basic ",
                      absl::Base64Escape(absl::StrCat(creds.username, ":", creds.password)));
}

std::string RepositoryScope(absl::string_view path, bool push) {
  return absl::StrCat("repository:", path, push ? ":pull,push" : ":pull");
}

absl::StatusOr<std::string> FetchBearerToken(const Challenge& challenge,
                                             const std::vector<std::string>& scopes,
                                             const Credentials& creds, const TlsOptions& tls) {
  const std::string realm = Param(challenge, "realm");
  if (!absl::StartsWith(realm, "https://") && !absl::StartsWith(realm, "http://")) {
    return absl::UnauthenticatedError(
        absl::StrCat("the registry's bearer challenge has no usable realm (\"", realm, "\")"));
  }
  const std::string service = Param(challenge, "service");
  std::vector<std::string> all_scopes = scopes;
  if (const std::string s = Param(challenge, "scope"); !s.empty()) all_scopes.push_back(s);

  HttpRequest req;
  if (creds.username.empty() && !creds.password.empty()) {
    // An identity token: OAuth2's refresh-token grant.
    req.method = "POST";
    req.url = realm;
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    req.body = absl::StrCat("grant_type=refresh_token&client_id=berth&service=", UrlEncode(service),
                            "&refresh_token=", UrlEncode(creds.password));
    if (!all_scopes.empty()) {
      absl::StrAppend(&req.body, "&scope=", UrlEncode(absl::StrJoin(all_scopes, " ")));
    }
  } else {
    std::vector<std::string> query;
    if (!service.empty()) query.push_back(absl::StrCat("service=", UrlEncode(service)));
    for (const std::string& s : all_scopes) query.push_back(absl::StrCat("scope=", UrlEncode(s)));
    if (!creds.username.empty()) query.push_back("account=" + UrlEncode(creds.username));
    req.url = realm;
    if (!query.empty()) {
      absl::StrAppend(&req.url, absl::StrContains(realm, '?') ? "&" : "?",
                      absl::StrJoin(query, "&"));
    }
    if (!creds.empty()) req.headers.push_back("Authorization: " + BasicAuthorization(creds));
  }
  absl::StatusOr<HttpResponse> resp = DoHttp(req, tls);
  if (!resp.ok()) return resp.status();
  if (resp->status == 401 || resp->status == 403) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the token server ", realm, " refused the credentials (HTTP ", resp->status, ")"));
  }
  if (resp->status != 200) {
    return absl::UnavailableError(
        absl::StrCat("the token server ", realm, " answered HTTP ", resp->status));
  }
  nlohmann::json j = nlohmann::json::parse(resp->body, nullptr, false);
  std::string token;
  if (j.is_object()) {
    for (const char* key : {"token", "access_token"}) {
      if (j.contains(key) && j[key].is_string() && !j[key].get<std::string>().empty()) {
        token = j[key].get<std::string>();
        break;
      }
    }
  }
  if (token.empty()) {
    return absl::UnavailableError(
        absl::StrCat("the token server ", realm, " answered without a token"));
  }
  return absl::StrCat("Bearer ", token);
}

}  // namespace berth::registry
