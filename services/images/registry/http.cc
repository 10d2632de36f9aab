#include "services/images/registry/http.h"

#include <curl/curl.h>

#include <cstring>
#include <memory>
#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "services/images/registry/curl_api.h"

namespace berth::registry {
namespace {

constexpr char kCurlCodePayload[] = "type.berth.io/curl-code";
// A transfer that moves less than 1 byte/s for this long is dead (a stalled server).
constexpr long kStallSeconds = 30;
constexpr long kConnectTimeoutSeconds = 15;
constexpr char kSystemCaPath[] = "/etc/ssl/certs";

struct Transfer {
  const CurlApi* curl = nullptr;
  const HttpRequest* req = nullptr;
  HttpResponse* resp = nullptr;
  CURL* handle = nullptr;
  absl::Status error;  // set by a callback that stopped the transfer
  bool cancelled = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  absl::string_view line(data, size * n);
  line = absl::StripTrailingAsciiWhitespace(line);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new response (after a redirect or a 100 Continue): only the last one's headers count.
    t->resp->headers.clear();
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return size * n;
  std::string name = absl::AsciiStrToLower(line.substr(0, colon));
  std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  t->resp->headers.emplace(std::move(name), std::move(value));
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  long code = 0;
  t->curl->easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &code);
  if (t->req->sink && code >= 200 && code < 300) {
    t->resp->status = code;
    absl::Status st = t->req->sink(*t->resp, absl::string_view(data, len));
    if (!st.ok()) {
      t->error = st;
      return 0;  // stops the transfer with CURLE_WRITE_ERROR
    }
    return len;
  }
  if (static_cast<int64_t>(t->resp->body.size() + len) > t->req->max_body) {
    t->error = absl::ResourceExhaustedError(absl::StrCat(t->req->method, " ", t->req->url,
                                                         ": the response body is over ",
                                                         t->req->max_body, " bytes"));
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  absl::StatusOr<size_t> got = t->req->body_source(buf, size * n);
  if (!got.ok()) {
    t->error = got.status();
    return CURL_READFUNC_ABORT;
  }
  return *got;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->req->cancelled && t->req->cancelled()) {
    t->cancelled = true;
    return 1;
  }
  return 0;
}

absl::Status CurlError(const CurlApi& curl, CURLcode code, const char* errbuf, long os_errno,
                       const HttpRequest& req) {
  std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : curl.easy_strerror(code);
  while (!detail.empty() && detail.back() == '\n') detail.pop_back();
  // curl says "Couldn't connect to server"; the system's word is more useful.
  if (code == CURLE_COULDNT_CONNECT && os_errno != 0) {
    const size_t cut = detail.rfind(": ");
    if (cut != std::string::npos) detail = detail.substr(0, cut);
    absl::StrAppend(&detail, ": ", std::strerror(static_cast<int>(os_errno)));
  }
  const std::string text = absl::StrCat(req.method, " ", req.url, ": ", detail);
  absl::Status st;
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
      st = absl::FailedPreconditionError(
          absl::StrCat(text, " (the server's certificate is not trusted)"));
      break;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      st = absl::FailedPreconditionError(text);
      break;
    default:
      st = absl::UnavailableError(text);
  }
  st.SetPayload(kCurlCodePayload, absl::Cord(std::to_string(static_cast<int>(code))));
  return st;
}

}  // namespace

std::string HttpResponse::Header(absl::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? "" : it->second;
}

std::vector<std::string> HttpResponse::Headers(absl::string_view name) const {
  std::vector<std::string> out;
  auto [lo, hi] = headers.equal_range(std::string(name));
  for (auto it = lo; it != hi; ++it) out.push_back(it->second);
  return out;
}

bool IsTlsProtocolError(const absl::Status& status) {
  absl::optional<absl::Cord> code = status.GetPayload(kCurlCodePayload);
  if (!code.has_value()) return false;
  const std::string c(*code);
  return c == std::to_string(static_cast<int>(CURLE_SSL_CONNECT_ERROR));
}

absl::StatusOr<HttpResponse> DoHttp(const HttpRequest& req, const TlsOptions& tls) {
  ASSIGN_OR_RETURN(const CurlApi* loaded, Curl());
  const CurlApi& curl = *loaded;
  std::unique_ptr<CURL, void (*)(CURL*)> handle(curl.easy_init(), curl.easy_cleanup);
  if (handle == nullptr) return absl::InternalError("curl_easy_init failed");
  CURL* c = handle.get();
  // curl_easy_setopt reads its varargs value as a long, a curl_off_t or a pointer; through a
  // function pointer curl.h's type-checking macro is gone, so this check stands in for it.
  auto set = [&curl, c](CURLoption option, auto value) {
    using T = decltype(value);
    static_assert(std::is_same_v<T, long> || std::is_same_v<T, curl_off_t> || std::is_pointer_v<T>,
                  "curl_easy_setopt takes a long, a curl_off_t or a pointer");
    curl.easy_setopt(c, option, value);
  };
  HttpResponse resp;
  Transfer t{.curl = &curl, .req = &req, .resp = &resp, .handle = c};
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_slist* headers = nullptr;
  for (const std::string& h : req.headers) headers = curl.slist_append(headers, h.c_str());
  // No "Expect: 100-continue" round trip before uploads.
  headers = curl.slist_append(headers, "Expect:");
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_list(headers, curl.slist_free_all);

  set(CURLOPT_URL, req.url.c_str());
  set(CURLOPT_ERRORBUFFER, errbuf);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_HTTPHEADER, headers);
  set(CURLOPT_USERAGENT, "berth/1 (distribution client; libcurl)");
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  set(CURLOPT_MAXREDIRS, 10L);
  set(CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  set(CURLOPT_LOW_SPEED_LIMIT, 1L);
  set(CURLOPT_LOW_SPEED_TIME, kStallSeconds);
  set(CURLOPT_HEADERFUNCTION, OnHeader);
  set(CURLOPT_HEADERDATA, &t);
  set(CURLOPT_WRITEFUNCTION, OnBody);
  set(CURLOPT_WRITEDATA, &t);
  set(CURLOPT_NOPROGRESS, 0L);
  set(CURLOPT_XFERINFOFUNCTION, OnProgress);
  set(CURLOPT_XFERINFODATA, &t);

  if (req.method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    set(CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.body_source) {
      set(CURLOPT_UPLOAD, 1L);
      set(CURLOPT_READFUNCTION, OnRead);
      set(CURLOPT_READDATA, &t);
      set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body_size));
    } else {
      set(CURLOPT_POSTFIELDS, req.body.data());
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  }

  set(CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
  set(CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
  curl_blob ca{};
  if (!tls.ca_pem.empty()) {
    ca.data = const_cast<char*>(tls.ca_pem.data());
    ca.len = tls.ca_pem.size();
    ca.flags = CURL_BLOB_NOCOPY;
    set(CURLOPT_CAINFO_BLOB, &ca);
    // The blob replaces the CA bundle file; the system's certificates stay through the path.
    set(CURLOPT_CAPATH, kSystemCaPath);
  }
  if (!tls.client_cert.empty()) {
    set(CURLOPT_SSLCERT, tls.client_cert.c_str());
    set(CURLOPT_SSLKEY, tls.client_key.c_str());
  }

  const CURLcode code = curl.easy_perform(c);
  if (t.cancelled) {
    return absl::CancelledError(absl::StrCat(req.method, " ", req.url, ": cancelled"));
  }
  if (!t.error.ok()) return t.error;
  if (code != CURLE_OK) {
    long os_errno = 0;
    curl.easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
    return CurlError(curl, code, errbuf, os_errno, req);
  }
  curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  char* url = nullptr;
  curl.easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &url);
  if (url != nullptr) resp.effective_url = url;
  return resp;
}

}  // namespace berth::registry
