#include "services/images/push.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/digest.h"
#include "common/status_macros.h"
#include "services/images/walk.h"

namespace berth::images {
namespace {

using ::berth::content::ContentStore;

constexpr int64_t kProgressEvery = 512 << 10;

class Push {
 public:
  Push(ContentStore& store, registry::RegistryClient& client, const Reference& dest,
       const PushOptions& options, const TransferProgressFn& progress)
      : store_(store), client_(client), dest_(dest), opts_(options), progress_(progress) {}

  absl::StatusOr<Descriptor> Run(Descriptor target) {
    if (opts_.platform.has_value() && KindOf(target.media_type) == Kind::kIndex) {
      ASSIGN_OR_RETURN(target, ResolveManifest(store_, opts_.ns, target, *opts_.platform));
    }
    // Parents come before children in the walk; the registry wants children first.
    std::vector<Descriptor> documents;
    std::vector<Descriptor> blobs;
    WalkOptions wo{.platform = opts_.platform};
    RETURN_IF_ERROR(Walk(store_, opts_.ns, target, wo,
                         [&](const Descriptor& d, const std::vector<Descriptor>&) {
                           const Kind k = KindOf(d.media_type);
                           if (k == Kind::kIndex || k == Kind::kManifest) {
                             documents.push_back(d);
                           } else {
                             blobs.push_back(d);
                           }
                           return absl::OkStatus();
                         }));
    RETURN_IF_ERROR(PushBlobs(blobs));
    std::reverse(documents.begin(), documents.end());
    for (const Descriptor& d : documents) {
      if (d.digest == target.digest) continue;
      ASSIGN_OR_RETURN(std::string body, ReadDocument(store_, opts_.ns, d));
      RETURN_IF_ERROR(client_.PutManifest(d.digest, d.media_type, body).status());
    }
    ASSIGN_OR_RETURN(std::string body, ReadDocument(store_, opts_.ns, target));
    const std::string tag_or_digest = dest_.digest.empty() ? dest_.tag : dest_.digest;
    ASSIGN_OR_RETURN(std::string digest,
                     client_.PutManifest(tag_or_digest, target.media_type, body));
    return Descriptor{.media_type = target.media_type, .digest = digest, .size = target.size};
  }

 private:
  bool Cancelled() const { return failed_.load() || (opts_.cancelled && opts_.cancelled()); }

  std::string Role(const Descriptor& d) const {
    return KindOf(d.media_type) == Kind::kConfig ? "config" : "layer";
  }

  absl::Status PushBlobs(const std::vector<Descriptor>& blobs) {
    for (const Descriptor& d : blobs) {
      progress_({.ref = d.digest,
                 .status = "preparing",
                 .offset = 0,
                 .total = d.size,
                 .message = Role(d)});
    }
    absl::Mutex mu;
    std::deque<const Descriptor*> queue;
    for (const Descriptor& d : blobs) queue.push_back(&d);
    absl::Status first_error;
    auto worker = [&] {
      for (;;) {
        const Descriptor* d = nullptr;
        {
          absl::MutexLock l(&mu);
          if (queue.empty() || !first_error.ok()) return;
          d = queue.front();
          queue.pop_front();
        }
        absl::Status st = PushBlob(*d);
        if (!st.ok()) {
          absl::MutexLock l(&mu);
          if (first_error.ok()) first_error = st;
          failed_.store(true);
          return;
        }
      }
    };
    const int n =
        std::max(1, std::min<int>(opts_.max_concurrent_uploads, static_cast<int>(blobs.size())));
    std::vector<std::thread> threads;
    for (int i = 1; i < n; ++i) threads.emplace_back(worker);
    worker();
    for (std::thread& t : threads) t.join();
    return first_error;
  }

  absl::Status PushBlob(const Descriptor& d) {
    if (Cancelled()) return absl::CancelledError("push cancelled");
    const std::string role = Role(d);
    ASSIGN_OR_RETURN(bool exists, client_.BlobExists(d.digest));
    if (exists) {
      progress_({.ref = d.digest,
                 .status = "exists",
                 .offset = d.size,
                 .total = d.size,
                 .message = role});
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(Digest digest, Digest::Parse(d.digest));
    ASSIGN_OR_RETURN(::berth::content::Info info, store_.GetInfo(opts_.ns, digest));
    // Pulled from another repository of this registry: ask it to link that copy.
    auto source = info.labels.find(absl::StrCat(kDistributionSourceLabel, dest_.domain));
    if (source != info.labels.end() && source->second != dest_.path) {
      absl::StatusOr<bool> mounted = client_.MountBlob(d.digest, source->second);
      if (mounted.ok() && *mounted) {
        progress_({.ref = d.digest,
                   .status = "mounted",
                   .offset = d.size,
                   .total = d.size,
                   .message = absl::StrCat("from ", source->second)});
        return absl::OkStatus();
      }
    }
    ASSIGN_OR_RETURN(std::unique_ptr<::berth::content::Reader> reader,
                     store_.Open(opts_.ns, digest));
    progress_(
        {.ref = d.digest, .status = "pushing", .offset = 0, .total = d.size, .message = role});
    int64_t reported = 0;
    RETURN_IF_ERROR(client_.UploadBlob(
        d.digest, d.size,
        [&](int64_t offset, char* buf, size_t n) -> absl::StatusOr<size_t> {
          if (Cancelled()) return absl::CancelledError("push cancelled");
          ASSIGN_OR_RETURN(size_t got, reader->ReadAt(offset, buf, n));
          const int64_t sent = offset + static_cast<int64_t>(got);
          if (sent - reported >= kProgressEvery && sent < d.size) {
            reported = sent;
            progress_({.ref = d.digest,
                       .status = "pushing",
                       .offset = sent,
                       .total = d.size,
                       .message = role});
          }
          return got;
        },
        [&](int64_t sent) {
          progress_({.ref = d.digest,
                     .status = "pushing",
                     .offset = sent,
                     .total = d.size,
                     .message = role});
        }));
    progress_(
        {.ref = d.digest, .status = "pushed", .offset = d.size, .total = d.size, .message = role});
    return absl::OkStatus();
  }

  ContentStore& store_;
  registry::RegistryClient& client_;
  const Reference& dest_;
  const PushOptions& opts_;
  const TransferProgressFn& progress_;
  std::atomic<bool> failed_{false};
};

}  // namespace

absl::StatusOr<Descriptor> PushImage(ContentStore& store, registry::RegistryClient& client,
                                     const Descriptor& target, const Reference& dest,
                                     const PushOptions& options,
                                     const TransferProgressFn& progress) {
  Push push(store, client, dest, options, progress);
  return push.Run(target);
}

}  // namespace berth::images
