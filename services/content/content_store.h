// ContentStore: immutable blobs addressed by digest, visible per namespace, and resumable
// ingests addressed by a client-chosen ref. The content service depends on this interface;
// local/ implements it on disk with the metadata database.
#ifndef BERTH_SERVICES_CONTENT_CONTENT_STORE_H_
#define BERTH_SERVICES_CONTENT_CONTENT_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/digest.h"

namespace berth::content {

using Labels = std::map<std::string, std::string>;

struct Info {
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
  absl::Time created_at;
  absl::Time updated_at;
  Labels labels;
};

// One ingest in flight.
struct IngestStatus {
  std::string ref;
  int64_t offset = 0;    // bytes received so far
  int64_t total = 0;     // announced size; 0 if unknown
  std::string expected;  // announced digest; empty if unknown
  absl::Time started_at;
  absl::Time updated_at;
};

// Random access to one committed blob. Stays valid even if the blob is deleted meanwhile.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual int64_t size() const = 0;
  // Reads up to `n` bytes at `offset` into `buf`; fewer only at the end of the blob.
  virtual absl::StatusOr<size_t> ReadAt(int64_t offset, char* buf, size_t n) = 0;
};

// Exclusive hold on one ingest. Destroying it without Commit keeps the data for a later
// Writer with the same ref to resume.
class Writer {
 public:
  virtual ~Writer() = default;
  virtual IngestStatus Status() const = 0;
  // Digest of the bytes received so far.
  virtual Digest DigestSoFar() const = 0;
  // Records the announced size and/or digest (0 / empty leave them as they are).
  virtual absl::Status SetExpected(int64_t total, const std::string& expected) = 0;
  // Appends at the current offset.
  virtual absl::Status Write(absl::string_view data) = 0;
  // Drops the data received so far and starts again at offset 0.
  virtual absl::Status Truncate() = 0;
  // Verifies size (if announced) and digest (if announced), then makes the blob visible in
  // the writer's namespace with `labels`. A mismatch stores nothing and discards the ingest.
  // ALREADY_EXISTS (and the ingest discarded) if the namespace already has the blob.
  virtual absl::StatusOr<Info> Commit(const Labels& labels) = 0;
};

struct WriterOptions {
  std::string ref;
  int64_t total = 0;
  std::string expected;
  // A lease that the committed blob joins, so that GC keeps it (empty: none).
  std::string lease;
};

class ContentStore {
 public:
  virtual ~ContentStore() = default;

  virtual absl::StatusOr<Info> GetInfo(const std::string& ns, const Digest& digest) = 0;
  // `paths` are "labels" or "labels.<key>"; empty replaces all labels.
  virtual absl::StatusOr<Info> Update(const std::string& ns, const Info& info,
                                      const std::vector<std::string>& paths) = 0;
  virtual absl::Status List(const std::string& ns,
                            const std::function<absl::Status(const Info&)>& fn) = 0;
  // Removes the blob from `ns`; its bytes go when no namespace holds them (at GC).
  virtual absl::Status Delete(const std::string& ns, const Digest& digest) = 0;
  virtual absl::StatusOr<std::unique_ptr<Reader>> Open(const std::string& ns,
                                                       const Digest& digest) = 0;

  virtual absl::StatusOr<IngestStatus> Status(const std::string& ns, const std::string& ref) = 0;
  virtual absl::StatusOr<std::vector<IngestStatus>> ListStatuses(const std::string& ns) = 0;
  // Opens (creating or resuming) the ingest `options.ref`. UNAVAILABLE while another Writer
  // holds the same ref.
  virtual absl::StatusOr<std::unique_ptr<Writer>> OpenWriter(const std::string& ns,
                                                             const WriterOptions& options) = 0;
  virtual absl::Status Abort(const std::string& ns, const std::string& ref) = 0;
};

}  // namespace berth::content

#endif  // BERTH_SERVICES_CONTENT_CONTENT_STORE_H_
