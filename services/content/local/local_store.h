// The local content store: blob files on disk (paths.h) and, per namespace, records in the
// metadata database. A blob's bytes are stored once; a namespace sees it once a commit (or a
// record) puts it there. It is also the collector's sweeper for blob files.
#ifndef BERTH_SERVICES_CONTENT_LOCAL_LOCAL_STORE_H_
#define BERTH_SERVICES_CONTENT_LOCAL_LOCAL_STORE_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/content/content_store.h"
#include "services/content/local/paths.h"
#include "services/metadata/gc.h"
#include "services/metadata/metadata.h"

namespace berth::content::local {

class LocalContentStore final : public ContentStore, public metadata::Sweeper {
 public:
  // `content_root` is <root>/content; it and its subdirectories are created if missing.
  static absl::StatusOr<std::shared_ptr<LocalContentStore>> Open(const std::string& content_root,
                                                                 metadata::Metadata* md);

  absl::StatusOr<Info> GetInfo(const std::string& ns, const Digest& digest) override;
  absl::StatusOr<Info> Update(const std::string& ns, const Info& info,
                              const std::vector<std::string>& paths) override;
  absl::Status List(const std::string& ns,
                    const std::function<absl::Status(const Info&)>& fn) override;
  absl::Status Delete(const std::string& ns, const Digest& digest) override;
  absl::StatusOr<std::unique_ptr<Reader>> Open(const std::string& ns,
                                               const Digest& digest) override;

  absl::StatusOr<IngestStatus> Status(const std::string& ns, const std::string& ref) override;
  absl::StatusOr<std::vector<IngestStatus>> ListStatuses(const std::string& ns) override;
  absl::StatusOr<std::unique_ptr<Writer>> OpenWriter(const std::string& ns,
                                                     const WriterOptions& options) override;
  absl::Status Abort(const std::string& ns, const std::string& ref) override;

  // Removes blob files that no namespace has a record of, then expired ingests.
  absl::StatusOr<int64_t> SweepUnreferenced(metadata::Metadata& md) override;

  // An ingest untouched (no byte written) for longer than `expiry`, with no writer on it and
  // held by no live lease (neither as an "ingests" resource nor, for loads and pulls, through
  // the "<lease>/" that starts its ref), is abandoned: ExpireIngests removes it, and so does
  // every sweep. Zero means never. The default is 24 hours, as in containerd.
  void SetIngestExpiry(absl::Duration expiry);
  // Returns how many ingests it removed.
  absl::StatusOr<int64_t> ExpireIngests(absl::Time now = absl::Now());

  const Paths& paths() const { return paths_; }

 private:
  friend class LocalWriter;
  LocalContentStore(std::string content_root, metadata::Metadata* md)
      : paths_(std::move(content_root)), md_(md) {}

  // The keys of every ingest on disk, of all namespaces.
  absl::StatusOr<std::vector<std::string>> IngestKeys() const;
  // Marks ingest `key` as held by a writer; false if it already is.
  bool Lock(const std::string& key);
  void Unlock(const std::string& key);
  bool Locked(const std::string& key);
  absl::StatusOr<IngestStatus> ReadStatus(const std::string& key, const std::string& ns,
                                          const std::string& ref);
  // Moves a verified ingest into the blob store and records it in `ns`; see Writer::Commit.
  absl::StatusOr<Info> CommitIngest(const std::string& ns, const std::string& key,
                                    const Digest& digest, int64_t size, const Labels& labels,
                                    const std::string& lease);

  const Paths paths_;
  metadata::Metadata* const md_;

  absl::Mutex locks_mu_;
  std::set<std::string> locked_ ABSL_GUARDED_BY(locks_mu_);
  absl::Duration ingest_expiry_ ABSL_GUARDED_BY(locks_mu_) = absl::Hours(24);
  // Commits hold it shared from "is the blob file there" to "its record is in"; the sweep holds
  // it exclusively, so it never removes a file that a commit is about to record.
  absl::Mutex commit_mu_;
};

}  // namespace berth::content::local

#endif  // BERTH_SERVICES_CONTENT_LOCAL_LOCAL_STORE_H_
