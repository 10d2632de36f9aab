// One HTTP/1.1 exchange over libcurl, as the registry client needs it: request headers and a
// body (whole, or streamed from a callback), the response's status and headers, and its body
// either buffered (bounded) or streamed to a sink. TLS verifies against the system CA store
// plus any extra CA PEM, and may present a client certificate.
#ifndef BERTH_SERVICES_IMAGES_REGISTRY_HTTP_H_
#define BERTH_SERVICES_IMAGES_REGISTRY_HTTP_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::registry {

struct TlsOptions {
  bool verify = true;       // false: accept any certificate (insecure_registries)
  std::string ca_pem;       // extra CAs, beside the system store
  std::string client_cert;  // PEM file presented to the server
  std::string client_key;   // its key
};

struct HttpResponse;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // A small body sent whole (PUT of a manifest, a token POST).
  std::string body;
  // A streamed body of `body_size` bytes: fills up to n bytes and returns how many (0: end).
  std::function<absl::StatusOr<size_t>(char* buf, size_t n)> body_source;
  int64_t body_size = -1;
  // When set, a 2xx response's body goes here as it arrives instead of into `body`, with
  // the response's status and headers so far; an error it returns stops the transfer and
  // is the exchange's result.
  std::function<absl::Status(const HttpResponse& head, absl::string_view data)> sink;
  // Buffered bodies larger than this are refused.
  int64_t max_body = 4 << 20;
  bool follow_redirects = true;
  // Polled during the transfer; true stops it with CANCELLED.
  std::function<bool()> cancelled;
};

struct HttpResponse {
  long status = 0;
  // Names lowercased; the last response's headers only (after redirects).
  std::multimap<std::string, std::string> headers;
  std::string body;  // buffered body (also for non-2xx responses when a sink was given)
  std::string effective_url;

  // The first value of header `name` (lowercase), or "".
  std::string Header(absl::string_view name) const;
  std::vector<std::string> Headers(absl::string_view name) const;
};

// Performs one exchange. Transport failures come back as UNAVAILABLE (connection refused,
// reset, a transfer cut short, a timeout) with curl's own words and the URL; a certificate
// the CA store does not vouch for as FAILED_PRECONDITION mentioning "certificate". Any HTTP
// status is a successful exchange: callers judge it.
absl::StatusOr<HttpResponse> DoHttp(const HttpRequest& request, const TlsOptions& tls);

// True for a TLS handshake failure that is not about the certificate (e.g. the server
// speaks plain HTTP), after which a plain-HTTP retry makes sense.
bool IsTlsProtocolError(const absl::Status& status);

}  // namespace berth::registry

#endif  // BERTH_SERVICES_IMAGES_REGISTRY_HTTP_H_
