// Layer streams decompressed ahead, on threads of their own.
//
// Applying a layer is two jobs: decompressing the blob (CPU) and writing its entries (system
// calls, disk). Apply reads a LayerStream that a thread fills, so the two overlap; and an
// unpack names the layer it will apply next (ApplyRequest.prefetch), whose stream starts
// filling while the current one is still being written. Layers still go on in order: only
// the decompressed bytes run ahead, into a bounded buffer.
//
// A stream nobody takes (the next layer turned out to be unpacked already, or the unpack
// failed) is dropped once it has waited kUntakenTimeout; at most kMaxUntaken wait at a time.
#ifndef BERTH_SERVICES_DIFF_PREFETCH_H_
#define BERTH_SERVICES_DIFF_PREFETCH_H_

#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/digest.h"
#include "services/content/content_store.h"

namespace berth::services {

// One blob's uncompressed bytes, filled by a producer thread, read once by one consumer.
class LayerStream {
 public:
  explicit LayerStream(size_t capacity) : capacity_(capacity) {}

  // Up to `n` bytes; 0 at the end; the producer's error (e.g. NOT_FOUND for a blob the
  // namespace does not have, DATA_LOSS for a corrupt one).
  absl::StatusOr<size_t> Read(char* buf, size_t n);
  // The consumer is done (finished or gave up): the producer stops.
  void Cancel();

  // Producer side. Push blocks while the buffer is full; false once cancelled, or when the
  // stream has not been taken within `untaken_timeout`.
  bool Push(std::string chunk, absl::Duration untaken_timeout);
  void Finish(absl::Status status);

  // Claims the stream for its consumer; false if it was given up or failed.
  bool Take();
  // Not taken, and given up or finished more than `timeout` before `now`.
  bool Stale(absl::Time now, absl::Duration timeout) const;
  bool done() const;

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<std::string> chunks_ ABSL_GUARDED_BY(mu_);
  size_t front_offset_ ABSL_GUARDED_BY(mu_) = 0;
  size_t buffered_ ABSL_GUARDED_BY(mu_) = 0;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time finished_at_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool taken_ ABSL_GUARDED_BY(mu_) = false;
};

class LayerPrefetcher {
 public:
  static constexpr size_t kDefaultBuffer = 32 << 20;
  static constexpr int kMaxUntaken = 4;
  static constexpr absl::Duration kUntakenTimeout = absl::Seconds(30);

  explicit LayerPrefetcher(std::shared_ptr<::berth::content::ContentStore> store,
                           size_t buffer = kDefaultBuffer,
                           absl::Duration untaken_timeout = kUntakenTimeout);
  // Cancels every stream and joins its thread.
  ~LayerPrefetcher();

  // Starts decompressing `digest` of namespace `ns` unless a stream of it already waits or
  // kMaxUntaken do. Never fails: a blob that cannot be read is read (and fails) at Take.
  void Prefetch(const std::string& ns, const Digest& digest);
  // The waiting stream of `digest` in `ns`, or a new one started now. The caller must Cancel
  // it when done.
  std::shared_ptr<LayerStream> Take(const std::string& ns, const Digest& digest);

  // Streams started so far and streams taken after a prefetch (for tests and logs).
  int64_t started() const;
  int64_t prefetched_taken() const;

 private:
  struct Entry {
    std::shared_ptr<LayerStream> stream;
    std::thread thread;
  };
  std::shared_ptr<LayerStream> StartLocked(const std::string& ns, const Digest& digest)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Produce(std::string ns, Digest digest, std::shared_ptr<LayerStream> stream);

  const std::shared_ptr<::berth::content::ContentStore> store_;
  const size_t buffer_;
  const absl::Duration untaken_timeout_;
  mutable absl::Mutex mu_;
  // Streams not yet taken, by "<ns>\n<digest>".
  std::map<std::string, std::shared_ptr<LayerStream>> waiting_ ABSL_GUARDED_BY(mu_);
  std::list<Entry> running_ ABSL_GUARDED_BY(mu_);
  int64_t started_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t prefetched_taken_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace berth::services

#endif  // BERTH_SERVICES_DIFF_PREFETCH_H_
