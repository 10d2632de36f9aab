#include "services/diff/prefetch.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace berth::services {
namespace {

constexpr size_t kChunk = 1 << 20;

std::string Key(const std::string& ns, const Digest& digest) {
  return absl::StrCat(ns, "\n", digest.ToString());
}

struct Source {
  ::berth::content::Reader* reader;
  int64_t offset = 0;
  std::vector<char> buf = std::vector<char>(kChunk);
  absl::Status status;
};

la_ssize_t ReadBlob(struct archive*, void* p, const void** buf) {
  auto* src = static_cast<Source*>(p);
  absl::StatusOr<size_t> n = src->reader->ReadAt(src->offset, src->buf.data(), src->buf.size());
  if (!n.ok()) {
    src->status = n.status();
    return -1;
  }
  src->offset += static_cast<int64_t>(*n);
  *buf = src->buf.data();
  return static_cast<la_ssize_t>(*n);
}

}  // namespace

absl::StatusOr<size_t> LayerStream::Read(char* buf, size_t n) {
  absl::MutexLock l(&mu_);
  mu_.Await(absl::Condition(
      +[](LayerStream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
        return !s->chunks_.empty() || s->finished_ || s->cancelled_;
      },
      this));
  if (chunks_.empty()) {
    if (cancelled_ && !finished_) return absl::CancelledError("layer stream cancelled");
    if (!status_.ok()) return status_;
    return 0;
  }
  size_t copied = 0;
  while (copied < n && !chunks_.empty()) {
    const std::string& front = chunks_.front();
    const size_t k = std::min(n - copied, front.size() - front_offset_);
    memcpy(buf + copied, front.data() + front_offset_, k);
    copied += k;
    front_offset_ += k;
    buffered_ -= k;
    if (front_offset_ == front.size()) {
      chunks_.pop_front();
      front_offset_ = 0;
    }
  }
  return copied;
}

void LayerStream::Cancel() {
  absl::MutexLock l(&mu_);
  cancelled_ = true;
  chunks_.clear();
  buffered_ = 0;
  front_offset_ = 0;
}

bool LayerStream::Push(std::string chunk, absl::Duration untaken_timeout) {
  absl::MutexLock l(&mu_);
  const absl::Time deadline = absl::Now() + untaken_timeout;
  while (!cancelled_ && buffered_ >= capacity_) {
    if (taken_) {
      mu_.Await(absl::Condition(
          +[](LayerStream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
            return s->cancelled_ || s->buffered_ < s->capacity_;
          },
          this));
    } else if (!mu_.AwaitWithDeadline(
                   absl::Condition(
                       +[](LayerStream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
                         return s->cancelled_ || s->taken_ || s->buffered_ < s->capacity_;
                       },
                       this),
                   deadline)) {
      cancelled_ = true;  // nobody came for it
    }
  }
  if (cancelled_) return false;
  buffered_ += chunk.size();
  chunks_.push_back(std::move(chunk));
  return true;
}

void LayerStream::Finish(absl::Status status) {
  absl::MutexLock l(&mu_);
  finished_ = true;
  finished_at_ = absl::Now();
  status_ = std::move(status);
}

bool LayerStream::Take() {
  absl::MutexLock l(&mu_);
  // A prefetch that failed (the blob was not in the store yet, during a pull) is tried again.
  if (cancelled_ || (finished_ && !status_.ok())) return false;
  taken_ = true;
  return true;
}

bool LayerStream::Stale(absl::Time now, absl::Duration timeout) const {
  absl::MutexLock l(&mu_);
  return !taken_ && (cancelled_ || (finished_ && now - finished_at_ > timeout));
}

bool LayerStream::done() const {
  absl::MutexLock l(&mu_);
  return finished_;
}

LayerPrefetcher::LayerPrefetcher(std::shared_ptr<::berth::content::ContentStore> store,
                                 size_t buffer, absl::Duration untaken_timeout)
    : store_(std::move(store)), buffer_(buffer), untaken_timeout_(untaken_timeout) {}

LayerPrefetcher::~LayerPrefetcher() {
  std::list<Entry> running;
  {
    absl::MutexLock l(&mu_);
    running.swap(running_);
    waiting_.clear();
  }
  for (Entry& e : running) {
    e.stream->Cancel();
    e.thread.join();
  }
}

void LayerPrefetcher::ReapLocked() {
  const absl::Time now = absl::Now();
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second->Stale(now, untaken_timeout_)) {
      it->second->Cancel();
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->stream->done()) {
      it->thread.join();  // it is returning
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
}

std::shared_ptr<LayerStream> LayerPrefetcher::StartLocked(const std::string& ns,
                                                          const Digest& digest) {
  auto stream = std::make_shared<LayerStream>(buffer_);
  running_.push_back({stream, std::thread(&LayerPrefetcher::Produce, this, ns, digest, stream)});
  ++started_;
  return stream;
}

void LayerPrefetcher::Prefetch(const std::string& ns, const Digest& digest) {
  absl::MutexLock l(&mu_);
  ReapLocked();
  const std::string key = Key(ns, digest);
  if (waiting_.count(key) > 0 || waiting_.size() >= static_cast<size_t>(kMaxUntaken)) return;
  waiting_[key] = StartLocked(ns, digest);
}

std::shared_ptr<LayerStream> LayerPrefetcher::Take(const std::string& ns, const Digest& digest) {
  absl::MutexLock l(&mu_);
  ReapLocked();
  auto it = waiting_.find(Key(ns, digest));
  if (it != waiting_.end()) {
    std::shared_ptr<LayerStream> s = std::move(it->second);
    waiting_.erase(it);
    if (s->Take()) {
      ++prefetched_taken_;
      return s;
    }
  }
  std::shared_ptr<LayerStream> s = StartLocked(ns, digest);
  s->Take();
  return s;
}

int64_t LayerPrefetcher::started() const {
  absl::MutexLock l(&mu_);
  return started_;
}

int64_t LayerPrefetcher::prefetched_taken() const {
  absl::MutexLock l(&mu_);
  return prefetched_taken_;
}

void LayerPrefetcher::Produce(std::string ns, Digest digest, std::shared_ptr<LayerStream> stream) {
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::unique_ptr<::berth::content::Reader> reader, store_->Open(ns, digest));
    Source src{reader.get()};
    struct archive* a = archive_read_new();
    if (a == nullptr) return absl::InternalError("archive_read_new failed");
    absl::Cleanup free = [a] { archive_read_free(a); };
    // The same decompression Apply did inline: any filter libarchive knows, none for a tar.
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    auto error = [&](absl::string_view what) {
      if (!src.status.ok()) return src.status;
      return absl::DataLossError(absl::StrCat("layer ", what, ": ", archive_error_string(a)));
    };
    if (archive_read_open(a, &src, nullptr, ReadBlob, nullptr) != ARCHIVE_OK) {
      return error("open");
    }
    struct archive_entry* e;
    if (archive_read_next_header(a, &e) != ARCHIVE_OK) return error("decompress");
    while (true) {
      std::string chunk(kChunk, '\0');
      la_ssize_t n = archive_read_data(a, chunk.data(), chunk.size());
      if (n < 0) return error("decompress");
      if (n == 0) break;
      chunk.resize(static_cast<size_t>(n));
      if (!stream->Push(std::move(chunk), untaken_timeout_)) {
        return absl::CancelledError("layer stream cancelled");
      }
    }
    return absl::OkStatus();
  }();
  stream->Finish(std::move(st));
}

}  // namespace berth::services
