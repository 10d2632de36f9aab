#include "services/images/pull.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/digest.h"
#include "common/status_macros.h"
#include "services/images/image_ingest.h"
#include "services/images/walk.h"
#include "spdlog/spdlog.h"

namespace berth::images {
namespace {

using ::berth::content::ContentStore;
using metadata::Db;

constexpr absl::Duration kMaxRetryDelay = absl::Seconds(8);
constexpr int64_t kProgressEvery = 512 << 10;
constexpr absl::Duration kProgressInterval = absl::Milliseconds(200);

struct Blob {
  Descriptor desc;
  std::string role;  // "layer", "config"
};

class Pull {
 public:
  Pull(ContentStore& store, metadata::MetadataStore& md, registry::RegistryClient& client,
       const Reference& ref, const PullOptions& options, const TransferProgressFn& progress)
      : store_(store),
        client_(client),
        ref_(ref),
        opts_(options),
        progress_(progress),
        ingest_(store, md, options.ns, "pull") {}

  absl::StatusOr<PullResult> Run() {
    return ingest_.Run<PullResult>([&] { return RunLeased(); });
  }

 private:
  bool Cancelled() const { return failed_.load() || (opts_.cancelled && opts_.cancelled()); }

  absl::StatusOr<PullResult> RunLeased() {
    const std::string tag_or_digest = ref_.digest.empty() ? ref_.tag : ref_.digest;
    ASSIGN_OR_RETURN(registry::RemoteDescriptor remote, client_.Resolve(tag_or_digest));
    const Kind kind = KindOf(remote.media_type);
    if (kind != Kind::kIndex && kind != Kind::kManifest) {
      return absl::InvalidArgumentError(
          absl::StrCat(ref_.FamiliarString(), " resolves to ", remote.digest, " of media type \"",
                       remote.media_type, "\", which is neither an image manifest nor an index"));
    }
    const Descriptor target{
        .media_type = remote.media_type, .digest = remote.digest, .size = remote.size};
    progress_({.ref = ref_.String(),
               .status = "resolved",
               .offset = 0,
               .total = 0,
               .message = target.digest});

    std::vector<Descriptor> manifests;
    if (kind == Kind::kIndex) {
      ASSIGN_OR_RETURN(std::string text, FetchDocument(target));
      ASSIGN_OR_RETURN(Index index, ParseIndex(text, absl::StrCat("index ", target.digest)));
      ASSIGN_OR_RETURN(manifests, Choose(index, target));
    } else {
      manifests.push_back(target);
    }
    std::vector<Blob> blobs;
    std::set<std::string> seen;
    for (const Descriptor& m : manifests) {
      if (KindOf(m.media_type) != Kind::kManifest) {
        return absl::InvalidArgumentError(absl::StrCat("index ", target.digest, " lists ", m.digest,
                                                       " of media type \"", m.media_type,
                                                       "\", not a manifest"));
      }
      ASSIGN_OR_RETURN(std::string text, FetchDocument(m));
      ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(text, absl::StrCat("manifest ", m.digest)));
      if (KindOf(manifest.config.media_type) != Kind::kConfig) {
        return absl::InvalidArgumentError(
            absl::StrCat("manifest ", m.digest, ": config ", manifest.config.digest,
                         " has unknown media type \"", manifest.config.media_type, "\""));
      }
      if (seen.insert(manifest.config.digest).second) {
        blobs.push_back({.desc = manifest.config, .role = "config"});
      }
      for (const Descriptor& l : manifest.layers) {
        if (KindOf(l.media_type) != Kind::kLayer) {
          return absl::InvalidArgumentError(absl::StrCat("manifest ", m.digest, ": layer ",
                                                         l.digest, " has unknown media type \"",
                                                         l.media_type, "\""));
        }
        if (seen.insert(l.digest).second) blobs.push_back({.desc = l, .role = "layer"});
      }
    }
    if (opts_.on_documents) opts_.on_documents(target);
    RETURN_IF_ERROR(FetchAll(blobs));

    // Children are all here: label parents so the image's root keeps them, and check the
    // whole tree once more from the store.
    absl::optional<Platform> platform;
    if (!opts_.all_platforms) platform = opts_.platform.value_or(HostPlatform());
    RETURN_IF_ERROR(ingest_.LabelTree(target, platform));

    PullResult result;
    result.downloaded_bytes = downloaded_.load();
    const absl::Time now = absl::Now();
    metadata::ImageRecord r{.ns = opts_.ns, .name = ref_.String()};
    r.target = {.media_type = target.media_type, .digest = target.digest, .size = target.size};
    r.labels = {opts_.labels.begin(), opts_.labels.end()};
    r.created_at = r.updated_at = now;
    RETURN_IF_ERROR(ingest_.Name([&](Db& db) -> absl::Status {
      ASSIGN_OR_RETURN(absl::optional<metadata::ImageRecord> old,
                       metadata::GetImage(db, opts_.ns, r.name));
      if (old.has_value()) {
        r.created_at = old->created_at;
        result.up_to_date = old->target.digest == r.target.digest && fetched_ == 0;
        if (opts_.labels.empty()) r.labels = old->labels;
      }
      return metadata::PutImage(db, r);
    }));
    result.image = std::move(r);
    return result;
  }

  absl::StatusOr<std::vector<Descriptor>> Choose(const Index& index, const Descriptor& target) {
    if (opts_.all_platforms) return index.manifests;
    const Platform want = opts_.platform.value_or(HostPlatform());
    std::vector<std::string> have;
    for (const Descriptor& d : index.manifests) {
      if (!d.platform.has_value()) continue;
      if (PlatformMatches(want, *d.platform)) return std::vector<Descriptor>{d};
      have.push_back(d.platform->String());
    }
    return absl::NotFoundError(absl::StrCat(
        "no matching manifest for ", want.String(), " in the manifest list entries of ",
        ref_.FamiliarString(), " (", target.digest, "; it has: ", absl::StrJoin(have, ", "), ")"));
  }

  // A manifest or index: fetched whole (digest checked by the client) and stored.
  absl::StatusOr<std::string> FetchDocument(const Descriptor& d) {
    ASSIGN_OR_RETURN(Digest digest, Digest::Parse(d.digest));
    RETURN_IF_ERROR(
        CheckDocumentSize(d.size, absl::StrCat(KindName(KindOf(d.media_type)), " ", d.digest)));
    if (store_.GetInfo(opts_.ns, digest).ok()) {
      RETURN_IF_ERROR(ingest_.Hold(d.digest));
      return ReadDocument(store_, opts_.ns, d);
    }
    ASSIGN_OR_RETURN(
        std::string text,
        client_.FetchManifest({.media_type = d.media_type, .digest = d.digest, .size = d.size}));
    RETURN_IF_ERROR(ingest_.WriteDocument(d, text, SourceLabels()));
    return text;
  }

  ::berth::content::Labels SourceLabels() const {
    return {{absl::StrCat(kDistributionSourceLabel, ref_.domain), ref_.path}};
  }

  absl::Status FetchAll(const std::vector<Blob>& blobs) {
    for (const Blob& b : blobs) {
      progress_({.ref = b.desc.digest,
                 .status = "waiting",
                 .offset = 0,
                 .total = b.desc.size,
                 .message = b.role});
    }
    absl::Mutex mu;
    std::deque<const Blob*> queue;
    for (const Blob& b : blobs) queue.push_back(&b);
    absl::Status first_error;
    auto worker = [&] {
      for (;;) {
        const Blob* b = nullptr;
        {
          absl::MutexLock l(&mu);
          if (queue.empty() || !first_error.ok()) return;
          b = queue.front();
          queue.pop_front();
        }
        absl::Status st = FetchBlob(*b);
        if (!st.ok()) {
          absl::MutexLock l(&mu);
          if (first_error.ok()) first_error = st;
          failed_.store(true);  // the other downloads stop too
          return;
        }
      }
    };
    const int n =
        std::max(1, std::min<int>(opts_.max_concurrent_downloads, static_cast<int>(blobs.size())));
    std::vector<std::thread> threads;
    for (int i = 1; i < n; ++i) threads.emplace_back(worker);
    worker();
    for (std::thread& t : threads) t.join();
    return first_error;
  }

  absl::Status FetchBlob(const Blob& b) {
    const Descriptor& d = b.desc;
    ASSIGN_OR_RETURN(Digest digest, Digest::Parse(d.digest));
    if (b.role == "config") {
      RETURN_IF_ERROR(CheckDocumentSize(d.size, absl::StrCat("config ", d.digest)));
    }
    // One ingest per blob and namespace, whichever pull asks: a second pull of the same blob
    // waits for the first, and a pull cut short leaves its bytes for the next one to resume.
    const std::string ingest = absl::StrCat("pull-", d.digest);
    std::unique_ptr<::berth::content::Writer> w;
    for (;;) {
      if (store_.GetInfo(opts_.ns, digest).ok()) {
        RETURN_IF_ERROR(ingest_.Hold(d.digest));
        progress_({.ref = d.digest,
                   .status = "exists",
                   .offset = d.size,
                   .total = d.size,
                   .message = b.role});
        return absl::OkStatus();
      }
      absl::StatusOr<std::unique_ptr<::berth::content::Writer>> opened = store_.OpenWriter(
          opts_.ns,
          {.ref = ingest, .total = d.size, .expected = d.digest, .lease = ingest_.lease()});
      if (opened.ok()) {
        w = *std::move(opened);
        break;
      }
      if (!absl::IsUnavailable(opened.status())) return opened.status();
      if (Cancelled()) return absl::CancelledError("pull cancelled");
      absl::SleepFor(absl::Milliseconds(250));  // another pull is writing this blob
    }
    if (w->Status().offset > d.size) RETURN_IF_ERROR(w->Truncate());

    const std::string what =
        absl::StrCat("blob ", d.digest, " from ", client_.domain(), "/", client_.path());
    int64_t last_report = -kProgressEvery;
    absl::Time last_time = absl::InfinitePast();
    int failures = 0;
    absl::Duration delay = opts_.retry_delay;
    while (w->Status().offset < d.size) {
      if (Cancelled()) return absl::CancelledError("pull cancelled");
      const int64_t before = w->Status().offset;
      absl::Status st = client_.FetchBlob(
          d.digest, before, [&](int64_t at, absl::string_view data) -> absl::Status {
            if (Cancelled()) return absl::CancelledError("pull cancelled");
            if (at != w->Status().offset) {
              // The server ignored the Range: start over.
              if (at != 0) {
                return absl::DataLossError(absl::StrCat(what, ": the registry sent bytes from ", at,
                                                        ", expected ", w->Status().offset));
              }
              RETURN_IF_ERROR(w->Truncate());
            }
            if (w->Status().offset + static_cast<int64_t>(data.size()) > d.size) {
              return absl::DataLossError(absl::StrCat(what, ": the registry sent more than the ",
                                                      d.size, " bytes it should"));
            }
            RETURN_IF_ERROR(w->Write(data));
            downloaded_.fetch_add(static_cast<int64_t>(data.size()));
            const int64_t off = w->Status().offset;
            const absl::Time now = absl::Now();
            if (off - last_report >= kProgressEvery || now - last_time >= kProgressInterval) {
              last_report = off;
              last_time = now;
              progress_({.ref = d.digest,
                         .status = "downloading",
                         .offset = off,
                         .total = d.size,
                         .message = b.role});
            }
            return absl::OkStatus();
          });
      if (st.ok() && w->Status().offset < d.size) {
        st = absl::UnavailableError(absl::StrCat(what, ": the registry sent ",
                                                 w->Status().offset - before,
                                                 " bytes and stopped short of ", d.size));
      }
      if (st.ok()) break;
      if (!absl::IsUnavailable(st)) return st;
      // A dropped connection or a registry gone for a moment: wait and resume from what
      // arrived. Tries that bring something reset the count.
      if (w->Status().offset > before) {
        failures = 0;
        delay = opts_.retry_delay;
      }
      if (++failures > opts_.retries) {
        return absl::UnavailableError(absl::StrCat(st.message(), " (gave up after ", opts_.retries,
                                                   " retries; ", w->Status().offset, " of ", d.size,
                                                   " bytes are kept for the next pull)"));
      }
      progress_({.ref = d.digest,
                 .status = "retrying",
                 .offset = w->Status().offset,
                 .total = d.size,
                 .message = std::string(st.message())});
      const absl::Time until = absl::Now() + delay;
      while (absl::Now() < until) {
        if (Cancelled()) return absl::CancelledError("pull cancelled");
        absl::SleepFor(absl::Milliseconds(100));
      }
      delay = std::min(delay * 2, kMaxRetryDelay);
    }
    progress_({.ref = d.digest,
               .status = "verifying",
               .offset = d.size,
               .total = d.size,
               .message = b.role});
    const std::string actual = w->DigestSoFar().ToString();
    if (actual != d.digest) {
      w.reset();
      absl::Status abort = store_.Abort(opts_.ns, ingest);
      if (!abort.ok()) spdlog::warn("aborting ingest {}: {}", ingest, abort.ToString());
      return absl::DataLossError(absl::StrCat(
          what, ": digest mismatch: the bytes received hash to ", actual,
          "; the registry (or something between) sent corrupt data, and it was discarded"));
    }
    RETURN_IF_ERROR(ingest_.Commit(*w, d.digest, SourceLabels()));
    fetched_.fetch_add(1);
    progress_(
        {.ref = d.digest, .status = "done", .offset = d.size, .total = d.size, .message = b.role});
    return absl::OkStatus();
  }

  ContentStore& store_;
  registry::RegistryClient& client_;
  const Reference& ref_;
  const PullOptions& opts_;
  const TransferProgressFn& progress_;
  ImageIngest ingest_;
  std::atomic<bool> failed_{false};
  std::atomic<int64_t> downloaded_{0};
  std::atomic<int> fetched_{0};
};

}  // namespace

absl::StatusOr<PullResult> PullImage(ContentStore& store, metadata::MetadataStore& md,
                                     registry::RegistryClient& client, const Reference& ref,
                                     const PullOptions& options,
                                     const TransferProgressFn& progress) {
  Pull pull(store, md, client, ref, options, progress);
  return pull.Run();
}

}  // namespace berth::images
