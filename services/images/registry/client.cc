#include "services/images/registry/client.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/digest.h"
#include "common/status_macros.h"

namespace berth::registry {

const char* const kManifestMediaTypes[4] = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
};

namespace {

std::string AcceptHeader() {
  return absl::StrCat("Accept: ", absl::StrJoin(kManifestMediaTypes, ", "));
}

// "application/json; charset=utf-8" → "application/json".
std::string MediaTypeOf(const std::string& content_type) {
  return std::string(absl::StripAsciiWhitespace(
      absl::string_view(content_type).substr(0, content_type.find(';'))));
}

bool IsDigestRef(absl::string_view ref) { return absl::StartsWith(ref, "sha256:"); }

absl::Status CheckDigest(absl::string_view body, absl::string_view digest, absl::string_view what) {
  const std::string actual = Sha256Of(body).ToString();
  if (actual == digest) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      what, ": digest mismatch: the registry sent bytes that hash to ", actual, ", not ", digest));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RegistryClient>> RegistryClient::Connect(
    absl::string_view domain, absl::string_view path, const ClientOptions& options) {
  ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints,
                   EndpointsFor(options.hosts, domain, options.plain_http, options.skip_verify));
  std::vector<std::string> errors;
  for (Endpoint& e : endpoints) {
    std::unique_ptr<RegistryClient> c(
        new RegistryClient(std::string(domain), std::string(path), e, options));
    absl::Status st = c->Ping();
    if (st.ok()) return c;
    // Only a registry that cannot be reached sends us on to the next endpoint: a refused
    // certificate or refused credentials are answers, and more tries would hide them.
    const bool reachability = absl::IsUnavailable(st) || absl::IsDeadlineExceeded(st);
    // The endpoints tried before this one could not be reached: this one's answer is the
    // whole story.
    if (!reachability) return st;
    errors.push_back(std::string(st.message()));
    if (!e.fallback_on_error) break;
  }
  return absl::UnavailableError(
      absl::StrCat("cannot reach the registry ", domain, ": ", absl::StrJoin(errors, "; then ")));
}

std::string RegistryClient::Url(absl::string_view suffix) const {
  return absl::StrCat(endpoint_.Base(), "/v2/", path_, suffix);
}

std::string RegistryClient::AbsoluteLocation(const std::string& location) const {
  if (absl::StartsWith(location, "http://") || absl::StartsWith(location, "https://")) {
    return location;
  }
  if (absl::StartsWith(location, "/")) {
    return absl::StrCat(endpoint_.scheme, "://", endpoint_.host, location);
  }
  return absl::StrCat(endpoint_.Base(), "/", location);
}

absl::Status RegistryClient::ErrorFrom(const HttpResponse& resp, absl::string_view what) const {
  std::vector<std::string> parts;
  nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array()) {
    for (const auto& e : j["errors"]) {
      if (!e.is_object()) continue;
      std::string code =
          e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
      std::string msg =
          e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
      std::string spoken = absl::AsciiStrToLower(code);
      std::replace(spoken.begin(), spoken.end(), '_', ' ');
      if (msg.empty()) msg = spoken;
      parts.push_back(spoken == msg || code.empty() ? msg : absl::StrCat(spoken, ": ", msg));
    }
  }
  const std::string detail =
      parts.empty() ? absl::StrCat("HTTP ", resp.status)
                    : absl::StrCat(absl::StrJoin(parts, "; "), " (HTTP ", resp.status, ")");
  const std::string text = absl::StrCat(what, resp.status == 404 ? " not found: " : ": ", detail);
  switch (resp.status) {
    case 401:
      return absl::UnauthenticatedError(absl::StrCat(
          text, options_.credentials.empty() ? absl::StrCat("; log in first: berth login ", domain_)
                                             : "; the registry refused the credentials"));
    case 403:
      return absl::PermissionDeniedError(text);
    case 404:
      return absl::NotFoundError(text);
    case 416:
      return absl::OutOfRangeError(text);
    case 429:
      return absl::ResourceExhaustedError(text);
    default:
      if (resp.status >= 500) return absl::UnavailableError(text);
      return absl::FailedPreconditionError(text);
  }
}

absl::Status RegistryClient::Authorize(const HttpResponse& unauthorized) {
  std::vector<Challenge> challenges = ParseChallenges(unauthorized.Headers("www-authenticate"));
  const Challenge* bearer = nullptr;
  const Challenge* basic = nullptr;
  for (const Challenge& c : challenges) {
    if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
    if (c.scheme == "basic" && basic == nullptr) basic = &c;
  }
  std::string header;
  if (bearer != nullptr) {
    std::vector<std::string> scopes;
    if (!path_.empty()) scopes.push_back(RepositoryScope(path_, options_.push));
    ASSIGN_OR_RETURN(header,
                     FetchBearerToken(*bearer, scopes, options_.credentials, endpoint_.tls));
  } else if (basic != nullptr) {
    if (options_.credentials.empty()) {
      return absl::UnauthenticatedError(
          absl::StrCat(domain_, " requires authentication; log in first: berth login ", domain_));
    }
    header = BasicAuthorization(options_.credentials);
  } else {
    return absl::UnauthenticatedError(
        absl::StrCat(domain_, " answered 401 without a challenge berth can answer (",
                     absl::StrJoin(unauthorized.Headers("www-authenticate"), "; "), ")"));
  }
  absl::MutexLock l(&mu_);
  authorization_ = std::move(header);
  return absl::OkStatus();
}

absl::StatusOr<HttpResponse> RegistryClient::Send(HttpRequest req) {
  if (absl::StartsWith(req.url, "/")) req.url = Url(req.url);
  req.cancelled = options_.cancelled;
  const std::vector<std::string> base_headers = req.headers;
  for (int attempt = 0;; ++attempt) {
    req.headers = base_headers;
    {
      absl::MutexLock l(&mu_);
      if (!authorization_.empty()) req.headers.push_back("Authorization: " + authorization_);
    }
    ASSIGN_OR_RETURN(HttpResponse resp, DoHttp(req, endpoint_.tls));
    // A streamed body cannot be sent twice; its callers authorize first.
    if (resp.status != 401 || attempt > 0 || req.body_source) return resp;
    if (options_.credentials.empty() && resp.Headers("www-authenticate").empty()) return resp;
    absl::Status st = Authorize(resp);
    if (absl::IsUnauthenticated(st) && options_.credentials.empty()) return resp;
    RETURN_IF_ERROR(st);
  }
}

absl::Status RegistryClient::Ping() {
  HttpRequest req;
  req.url = absl::StrCat(endpoint_.Base(), "/v2/");
  req.cancelled = options_.cancelled;
  ASSIGN_OR_RETURN(HttpResponse resp, DoHttp(req, endpoint_.tls));
  if (resp.status == 401) {
    absl::Status st = Authorize(resp);
    // Anonymous clients may still be let in per repository; the first real request says.
    if (!st.ok() && !(absl::IsUnauthenticated(st) && options_.credentials.empty())) return st;
    if (!options_.credentials.empty()) {
      // Check the credentials now, so a wrong password is the error rather than a 401 later.
      HttpRequest again;
      again.url = req.url;
      ASSIGN_OR_RETURN(HttpResponse r2, Send(again));
      if (r2.status == 401 || r2.status == 403) {
        return ErrorFrom(r2, absl::StrCat("log in to ", domain_));
      }
    }
    return absl::OkStatus();
  }
  if (resp.status == 200) return absl::OkStatus();
  if (resp.status == 404) {
    return absl::FailedPreconditionError(
        absl::StrCat(req.url, " answered 404: this is not an OCI distribution registry"));
  }
  return absl::UnavailableError(absl::StrCat(
      "GET ", req.url, ": HTTP ", resp.status,
      resp.status == 400 && endpoint_.scheme == "http" ? " (is it an HTTPS registry?)" : ""));
}

absl::StatusOr<RemoteDescriptor> RegistryClient::Resolve(absl::string_view ref) {
  const std::string what =
      absl::StrCat("manifest for ", domain_, "/", path_, IsDigestRef(ref) ? "@" : ":", ref);
  HttpRequest head;
  head.method = "HEAD";
  head.url = absl::StrCat("/manifests/", ref);
  head.headers.push_back(AcceptHeader());
  ASSIGN_OR_RETURN(HttpResponse resp, Send(head));
  if (resp.status == 200) {
    RemoteDescriptor d{.media_type = MediaTypeOf(resp.Header("content-type")),
                       .digest = resp.Header("docker-content-digest"),
                       .size = 0};
    int64_t size = 0;
    if (absl::SimpleAtoi(resp.Header("content-length"), &size)) d.size = size;
    if (IsDigestRef(ref)) d.digest = std::string(ref);
    if (Digest::Parse(d.digest).ok() && d.size > 0 && !d.media_type.empty()) return d;
  }
  // No usable HEAD (or an error, whose body only a GET carries): GET the manifest.
  HttpRequest get;
  get.url = head.url;
  get.headers = head.headers;
  ASSIGN_OR_RETURN(resp, Send(get));
  if (resp.status != 200) return ErrorFrom(resp, what);
  RemoteDescriptor d{.media_type = MediaTypeOf(resp.Header("content-type")),
                     .digest = Sha256Of(resp.body).ToString(),
                     .size = static_cast<int64_t>(resp.body.size())};
  if (IsDigestRef(ref)) RETURN_IF_ERROR(CheckDigest(resp.body, ref, what));
  return d;
}

absl::StatusOr<std::string> RegistryClient::FetchManifest(const RemoteDescriptor& desc) {
  const std::string what = absl::StrCat("manifest ", desc.digest, " from ", domain_, "/", path_);
  HttpRequest get;
  get.url = absl::StrCat("/manifests/", desc.digest);
  get.headers.push_back(AcceptHeader());
  ASSIGN_OR_RETURN(HttpResponse resp, Send(get));
  if (resp.status != 200) return ErrorFrom(resp, what);
  if (desc.size > 0 && static_cast<int64_t>(resp.body.size()) != desc.size) {
    return absl::DataLossError(absl::StrCat(what, ": the registry sent ", resp.body.size(),
                                            " bytes, but its descriptor says ", desc.size));
  }
  RETURN_IF_ERROR(CheckDigest(resp.body, desc.digest, what));
  return std::move(resp.body);
}

absl::Status RegistryClient::FetchBlob(absl::string_view digest, int64_t offset, const Sink& sink) {
  const std::string what = absl::StrCat("blob ", digest, " from ", domain_, "/", path_);
  HttpRequest get;
  get.url = absl::StrCat("/blobs/", digest);
  if (offset > 0) get.headers.push_back(absl::StrCat("Range: bytes=", offset, "-"));
  int64_t at = -1;
  get.sink = [&](const HttpResponse& head, absl::string_view data) -> absl::Status {
    if (at < 0) {
      at = 0;
      if (head.status == 206) {
        // "bytes START-END/TOTAL"
        const std::string content_range = head.Header("content-range");
        absl::string_view range = content_range;
        absl::ConsumePrefix(&range, "bytes ");
        if (!absl::SimpleAtoi(range.substr(0, range.find('-')), &at) || at != offset) {
          return absl::DataLossError(absl::StrCat(what, ": asked for bytes from ", offset,
                                                  " but the registry sent range \"", content_range,
                                                  "\""));
        }
      }
    }
    RETURN_IF_ERROR(sink(at, data));
    at += static_cast<int64_t>(data.size());
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(HttpResponse resp, Send(std::move(get)));
  if (resp.status < 200 || resp.status >= 300) return ErrorFrom(resp, what);
  return absl::OkStatus();
}

absl::StatusOr<bool> RegistryClient::BlobExists(absl::string_view digest) {
  HttpRequest head;
  head.method = "HEAD";
  head.url = absl::StrCat("/blobs/", digest);
  ASSIGN_OR_RETURN(HttpResponse resp, Send(head));
  if (resp.status == 200) return true;
  if (resp.status == 404) return false;
  return ErrorFrom(resp, absl::StrCat("HEAD blob ", digest, " on ", domain_, "/", path_));
}

absl::StatusOr<bool> RegistryClient::MountBlob(absl::string_view digest, absl::string_view from) {
  HttpRequest post;
  post.method = "POST";
  post.url = absl::StrCat("/blobs/uploads/?mount=", digest, "&from=", from);
  ASSIGN_OR_RETURN(HttpResponse resp, Send(post));
  if (resp.status == 201) return true;
  if (resp.status == 202) {
    // The registry opened an upload instead; close it, the caller uploads afresh.
    HttpRequest del;
    del.method = "DELETE";
    del.url = AbsoluteLocation(resp.Header("location"));
    (void)Send(del);
    return false;
  }
  return ErrorFrom(resp, absl::StrCat("mount blob ", digest, " from ", from));
}

absl::Status RegistryClient::UploadBlob(absl::string_view digest, int64_t size, const ReadAt& read,
                                        const std::function<void(int64_t)>& progress) {
  const std::string what = absl::StrCat("upload blob ", digest, " to ", domain_, "/", path_);
  HttpRequest post;
  post.method = "POST";
  post.url = "/blobs/uploads/";
  ASSIGN_OR_RETURN(HttpResponse resp, Send(post));
  if (resp.status != 202) return ErrorFrom(resp, what);
  std::string location = AbsoluteLocation(resp.Header("location"));
  if (location.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(what, ": no Location for the upload"));
  }
  // Streams [from, from+n) of the blob as a request body.
  auto body = [&](HttpRequest& r, int64_t from, int64_t n) {
    auto pos = std::make_shared<int64_t>(from);
    const int64_t end = from + n;
    r.body_size = n;
    r.body_source = [pos, end, &read](char* buf, size_t want) -> absl::StatusOr<size_t> {
      if (*pos >= end) return size_t{0};
      const size_t k =
          static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(want), end - *pos));
      ASSIGN_OR_RETURN(size_t got, read(*pos, buf, k));
      if (got == 0) return absl::DataLossError("the blob is shorter than its descriptor");
      *pos += static_cast<int64_t>(got);
      return got;
    };
    r.headers.push_back("Content-Type: application/octet-stream");
  };
  auto with_digest = [&](const std::string& loc) {
    return absl::StrCat(loc, absl::StrContains(loc, '?') ? "&" : "?", "digest=", digest);
  };
  if (size <= options_.chunk_size) {
    HttpRequest put;
    put.method = "PUT";
    put.url = with_digest(location);
    body(put, 0, size);
    ASSIGN_OR_RETURN(resp, Send(std::move(put)));
    if (resp.status != 201) return ErrorFrom(resp, what);
    progress(size);
    return absl::OkStatus();
  }
  for (int64_t off = 0; off < size; off += options_.chunk_size) {
    const int64_t n = std::min(options_.chunk_size, size - off);
    HttpRequest patch;
    patch.method = "PATCH";
    patch.url = location;
    body(patch, off, n);
    patch.headers.push_back(absl::StrCat("Content-Range: ", off, "-", off + n - 1));
    ASSIGN_OR_RETURN(resp, Send(std::move(patch)));
    if (resp.status != 202) return ErrorFrom(resp, absl::StrCat(what, ": chunk at ", off));
    if (const std::string next = resp.Header("location"); !next.empty()) {
      location = AbsoluteLocation(next);
    }
    progress(off + n);
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = with_digest(location);
  put.headers.push_back("Content-Type: application/octet-stream");
  ASSIGN_OR_RETURN(resp, Send(std::move(put)));
  if (resp.status != 201) return ErrorFrom(resp, what);
  return absl::OkStatus();
}

absl::StatusOr<std::string> RegistryClient::PutManifest(absl::string_view ref,
                                                        absl::string_view media_type,
                                                        absl::string_view body) {
  HttpRequest put;
  put.method = "PUT";
  put.url = absl::StrCat("/manifests/", ref);
  put.headers.push_back(absl::StrCat("Content-Type: ", media_type));
  put.body = std::string(body);
  ASSIGN_OR_RETURN(HttpResponse resp, Send(std::move(put)));
  if (resp.status != 201 && resp.status != 200) {
    return ErrorFrom(resp, absl::StrCat("put manifest ", domain_, "/", path_,
                                        IsDigestRef(ref) ? "@" : ":", ref));
  }
  const std::string digest = Sha256Of(body).ToString();
  const std::string reported = resp.Header("docker-content-digest");
  if (!reported.empty() && reported != digest) {
    return absl::DataLossError(absl::StrCat("the registry stored the manifest as ", reported,
                                            ", but its bytes hash to ", digest));
  }
  return digest;
}

}  // namespace berth::registry
