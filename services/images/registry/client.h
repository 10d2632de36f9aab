// A client of one repository on an OCI distribution registry (the /v2/ API): resolve a tag
// to a manifest descriptor with content negotiation, fetch manifests and blobs (verified by
// digest; blobs streamed from an offset with Range), check, mount and upload blobs
// (monolithic or chunked), and put manifests. It answers 401s itself: Basic, or the bearer
// token flow, with the credentials it was given.
//
// Thread-safe: a pull downloads several layers through one client at once.
#ifndef BERTH_SERVICES_IMAGES_REGISTRY_CLIENT_H_
#define BERTH_SERVICES_IMAGES_REGISTRY_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "services/images/registry/auth.h"
#include "services/images/registry/hosts.h"
#include "services/images/registry/http.h"

namespace berth::registry {

// Every manifest media type berth reads, for the Accept header.
extern const char* const kManifestMediaTypes[4];

struct ClientOptions {
  HostsConfig hosts;
  Credentials credentials;
  bool plain_http = false;
  bool skip_verify = false;
  bool push = false;  // ask for pull,push scope
  std::function<bool()> cancelled;
  // Bytes per PATCH of a chunked upload; blobs this size or smaller go in one PUT.
  int64_t chunk_size = 8 << 20;
};

struct RemoteDescriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
};

class RegistryClient {
 public:
  // Finds the first endpoint of `domain` that answers /v2/ (and learns its auth challenge)
  // for repository `path` ("library/busybox"). UNAVAILABLE names the endpoints tried.
  static absl::StatusOr<std::unique_ptr<RegistryClient>> Connect(absl::string_view domain,
                                                                 absl::string_view path,
                                                                 const ClientOptions& options);

  // The endpoint in use, for messages: "http://127.0.0.1:5000".
  std::string base() const { return endpoint_.Base(); }
  const std::string& domain() const { return domain_; }
  const std::string& path() const { return path_; }

  // A tag or digest → its manifest's descriptor (HEAD, with a GET when the registry gives no
  // digest). NOT_FOUND says whether the repository or the tag is unknown.
  absl::StatusOr<RemoteDescriptor> Resolve(absl::string_view tag_or_digest);

  // A manifest or index by digest, checked against it (and against `size` when non-zero).
  absl::StatusOr<std::string> FetchManifest(const RemoteDescriptor& desc);

  // Streams blob `digest` from byte `offset` to `sink`, which learns where in the blob each
  // piece starts (a server that ignores the Range starts again at 0). A transfer cut short
  // is UNAVAILABLE; the caller resumes from what it received.
  using Sink = std::function<absl::Status(int64_t at, absl::string_view data)>;
  absl::Status FetchBlob(absl::string_view digest, int64_t offset, const Sink& sink);

  // HEAD /v2/<name>/blobs/<digest>.
  absl::StatusOr<bool> BlobExists(absl::string_view digest);

  // Asks the registry to link a blob it already holds in repository `from`. False when it
  // would rather have it uploaded (it then leaves no upload session open).
  absl::StatusOr<bool> MountBlob(absl::string_view digest, absl::string_view from);

  // Uploads `size` bytes from `read(offset, buf, n)`: one PUT when size ≤ chunk_size, else
  // PATCHes of chunk_size each and a closing PUT. `progress(bytes sent)` after each piece.
  using ReadAt = std::function<absl::StatusOr<size_t>(int64_t offset, char* buf, size_t n)>;
  absl::Status UploadBlob(absl::string_view digest, int64_t size, const ReadAt& read,
                          const std::function<void(int64_t)>& progress);

  // PUT /v2/<name>/manifests/<tag_or_digest>; returns the digest the registry reports.
  absl::StatusOr<std::string> PutManifest(absl::string_view tag_or_digest,
                                          absl::string_view media_type, absl::string_view body);

 private:
  RegistryClient(std::string domain, std::string path, Endpoint endpoint, ClientOptions options)
      : domain_(std::move(domain)),
        path_(std::move(path)),
        endpoint_(std::move(endpoint)),
        options_(std::move(options)) {}

  // Sends `req` (its URL relative to the endpoint's /v2/<name>/ when it starts with "/"),
  // with the current Authorization; on a 401 answers the challenge once and resends.
  absl::StatusOr<HttpResponse> Send(HttpRequest req);
  // Learns an Authorization header from a 401 response.
  absl::Status Authorize(const HttpResponse& unauthorized);
  std::string Url(absl::string_view suffix) const;
  std::string AbsoluteLocation(const std::string& location) const;
  // The registry's error body ({"errors":[{"code","message"}]}) as a Status, with context.
  absl::Status ErrorFrom(const HttpResponse& resp, absl::string_view what) const;
  absl::Status Ping();

  const std::string domain_;
  const std::string path_;
  const Endpoint endpoint_;
  const ClientOptions options_;
  absl::Mutex mu_;
  std::string authorization_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::registry

#endif  // BERTH_SERVICES_IMAGES_REGISTRY_CLIENT_H_
