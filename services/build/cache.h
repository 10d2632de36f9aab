// The build cache: for each step, keyed by a digest of everything that decides its result
// (the previous step's key, the instruction after substitution, the build args a RUN sees, the
// content of COPY/ADD sources), what the step produced: when it was made (so a rebuild
// writes the same history, hence the same image digest) and its layer, if it made one.
//
// Kept in its own SQLite database, <root>/build/cache.db, one table:
//   cache(namespace, key, created_ns, layer_digest, layer_media_type, layer_size, diff_id,
//         used_ns)  primary key (namespace, key)
// An entry is only a hint: a hit is used only when its layer's snapshot (named by chain ID)
// and blob are still there. The blobs are held by the lease kCacheLease of the namespace, so
// garbage collection leaves them until the cache is pruned.
#ifndef BERTH_SERVICES_BUILD_CACHE_H_
#define BERTH_SERVICES_BUILD_CACHE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/sqlite.h"

namespace berth::build {

// The lease (per namespace, never expiring) holding every layer blob a build made.
inline constexpr char kCacheLease[] = "berth.build-cache";

struct CacheEntry {
  absl::Time created;
  // Empty when the step changed only the config, or no files.
  std::string layer_digest;
  std::string layer_media_type;
  int64_t layer_size = 0;
  std::string diff_id;
};

class BuildCache {
 public:
  static absl::StatusOr<std::unique_ptr<BuildCache>> Open(const std::string& path);

  absl::StatusOr<absl::optional<CacheEntry>> Get(const std::string& ns, const std::string& key);
  // Replaces any entry of the same key.
  absl::Status Put(const std::string& ns, const std::string& key, const CacheEntry& entry);
  // Forgets every entry of the namespace; returns how many.
  absl::StatusOr<int64_t> Prune(const std::string& ns);

 private:
  explicit BuildCache(sqlite::Db db) : db_(std::move(db)) {}
  absl::Mutex mu_;
  sqlite::Db db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::build

#endif  // BERTH_SERVICES_BUILD_CACHE_H_
