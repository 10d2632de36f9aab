#include "services/diff/diff_service.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/digest.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "services/common/request_metadata.h"
#include "snapshotter/diff/diff.h"
#include "snapshotter/mount/mount.h"

namespace berth::services {

namespace pb = ::berth::services::diff::v1;

absl::StatusOr<std::pair<std::string, ::berth::snapshotter::ApplyOptions>> ApplyTarget(
    const google::protobuf::RepeatedPtrField<::berth::types::v1::Mount>& mounts) {
  if (mounts.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("apply needs exactly one mount, got ", mounts.size()));
  }
  const auto& m = mounts[0];
  bool bind = m.type() == "bind";
  for (const std::string& o : m.options()) {
    if (o == "ro") return absl::InvalidArgumentError("apply onto a read-only mount");
    if (o == "bind" || o == "rbind") bind = true;
  }
  if (bind) return std::make_pair(m.source(), ::berth::snapshotter::ApplyOptions{});
  if (m.type() == "overlay") {
    for (const std::string& o : m.options()) {
      if (absl::StartsWith(o, "upperdir=")) {
        return std::make_pair(o.substr(9),
                              ::berth::snapshotter::ApplyOptions{.overlay_whiteouts = true});
      }
    }
    return absl::InvalidArgumentError("apply onto an overlay mount without an upperdir");
  }
  return absl::InvalidArgumentError(absl::StrCat("apply onto a \"", m.type(), "\" mount"));
}

namespace {

constexpr char kUncompressedLabel[] = "berth.io/uncompressed";

bool IsBind(const ::berth::types::v1::Mount& m) {
  if (m.type() == "bind") return true;
  for (const std::string& o : m.options()) {
    if (o == "bind" || o == "rbind") return true;
  }
  return false;
}

// The layer directories under `mounts` (nearest first): a bind's source, an overlay's
// lowerdirs; nullopt for anything else.
absl::optional<std::vector<std::string>> Layers(
    const google::protobuf::RepeatedPtrField<::berth::types::v1::Mount>& mounts) {
  if (mounts.empty()) return std::vector<std::string>{};
  if (mounts.size() != 1) return absl::nullopt;
  const auto& m = mounts[0];
  if (IsBind(m)) return std::vector<std::string>{m.source()};
  if (m.type() != "overlay") return absl::nullopt;
  ::berth::snapshotter::Mount sm{m.type(), m.source(), {m.options().begin(), m.options().end()}};
  std::vector<std::string> lowers = ::berth::snapshotter::LowerDirs(sm);
  for (const std::string& o : m.options()) {
    if (absl::StartsWith(o, "upperdir=")) lowers.insert(lowers.begin(), o.substr(9));
  }
  return lowers;
}

// Directories for the trees of a diff; mounts what is not a plain directory and undoes that
// when destroyed.
class Trees {
 public:
  ~Trees() {
    for (const std::string& d : mounted_) {
      (void)::berth::snapshotter::Unmount(d, /*detach=*/true);
      ::rmdir(d.c_str());
    }
  }

  // "" for no mounts (the empty directory).
  absl::StatusOr<std::string> Dir(
      const google::protobuf::RepeatedPtrField<::berth::types::v1::Mount>& mounts) {
    if (mounts.empty()) return std::string();
    if (mounts.size() == 1 && IsBind(mounts[0])) return mounts[0].source();
    std::vector<::berth::snapshotter::Mount> ms;
    for (const auto& m : mounts) {
      ::berth::snapshotter::Mount sm{
          m.type(), m.source(), {m.options().begin(), m.options().end()}};
      bool ro = false;
      for (const std::string& o : sm.options) ro = ro || o == "ro";
      if (!ro) sm.options.push_back("ro");
      ms.push_back(std::move(sm));
    }
    char tmpl[] = "/tmp/berth-diff-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      return ::berth::ErrnoStatus("mkdtemp /tmp/berth-diff-XXXXXX", errno);
    absl::Status st = ::berth::snapshotter::MountAll(ms, tmpl);
    if (!st.ok()) {
      ::rmdir(tmpl);
      return st;
    }
    mounted_.push_back(tmpl);
    return std::string(tmpl);
  }

 private:
  std::vector<std::string> mounted_;
};

std::string NewRef() {
  static std::atomic<int64_t> counter{0};
  return absl::StrCat("diff-", ::getpid(), "-", absl::ToUnixNanos(absl::Now()), "-", counter++);
}

}  // namespace

DiffService::DiffService(std::shared_ptr<::berth::content::ContentStore> store, LeaseHold hold)
    : store_(std::move(store)), hold_(std::move(hold)), prefetcher_(store_) {}

grpc::Status DiffService::Apply(grpc::ServerContext* ctx, const pb::ApplyRequest* req,
                                pb::ApplyResponse* resp) {
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string ns, RequestNamespace(*ctx));
    ASSIGN_OR_RETURN(Digest digest, Digest::Parse(req->diff().digest()));
    ASSIGN_OR_RETURN(auto target, ApplyTarget(req->mounts()));
    // The blob is decompressed on a thread of its own (or already was, ahead of this call),
    // while this one writes the entries.
    std::shared_ptr<LayerStream> stream = prefetcher_.Take(ns, digest);
    absl::Cleanup done = [&stream] { stream->Cancel(); };
    for (const auto& next : req->prefetch()) {
      absl::StatusOr<Digest> d = Digest::Parse(next.digest());
      if (d.ok()) prefetcher_.Prefetch(ns, *d);
    }
    auto read = [&](char* buf, size_t n) -> absl::StatusOr<size_t> {
      if (ctx->IsCancelled()) return absl::CancelledError("the client went away");
      return stream->Read(buf, n);
    };
    ::berth::snapshotter::ApplyOptions options = target.second;
    options.decompressed = true;
    ASSIGN_OR_RETURN(::berth::snapshotter::ApplyResult r,
                     ::berth::snapshotter::ApplyLayer(read, target.first, options));
    resp->mutable_applied()->set_media_type("application/vnd.oci.image.layer.v1.tar");
    resp->mutable_applied()->set_digest(r.diff_id);
    resp->mutable_applied()->set_size(r.size);
    return absl::OkStatus();
  }();
  if (!st.ok()) {
    return ToGrpcStatus(
        absl::Status(st.code(), absl::StrCat("apply ", req->diff().digest(), ": ", st.message())));
  }
  return grpc::Status::OK;
}

grpc::Status DiffService::Diff(grpc::ServerContext* ctx, const pb::DiffRequest* req,
                               pb::DiffResponse* resp) {
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string ns, RequestNamespace(*ctx));
    ASSIGN_OR_RETURN(std::string lease, RequestLease(*ctx));
    ASSIGN_OR_RETURN(::berth::snapshotter::Compression compression,
                     ::berth::snapshotter::CompressionForMediaType(req->media_type()));
    if (req->right().empty()) return absl::InvalidArgumentError("diff needs the right mounts");
    ::berth::snapshotter::DiffOptions options{.overlay_upper = false, .compression = compression};
    std::string lower, upper;
    Trees trees;
    // An overlay's upperdir holds exactly its changes against its lowerdirs.
    absl::optional<std::vector<std::string>> right_layers = Layers(req->right());
    absl::optional<std::vector<std::string>> left_layers = Layers(req->left());
    if (req->right().size() == 1 && req->right(0).type() == "overlay" && right_layers &&
        left_layers) {
      std::string upperdir;
      for (const std::string& o : req->right(0).options()) {
        if (absl::StartsWith(o, "upperdir=")) upperdir = o.substr(9);
      }
      if (!upperdir.empty() && std::vector<std::string>(right_layers->begin() + 1,
                                                        right_layers->end()) == *left_layers) {
        options.overlay_upper = true;
        upper = upperdir;
      }
    }
    if (!options.overlay_upper) {
      ASSIGN_OR_RETURN(upper, trees.Dir(req->right()));
      ASSIGN_OR_RETURN(lower, trees.Dir(req->left()));
    }

    const std::string ref = req->ref().empty() ? NewRef() : req->ref();
    ASSIGN_OR_RETURN(std::unique_ptr<::berth::content::Writer> w,
                     store_->OpenWriter(ns, {.ref = ref, .lease = lease}));
    if (w->Status().offset != 0) RETURN_IF_ERROR(w->Truncate());
    ASSIGN_OR_RETURN(::berth::snapshotter::DiffResult r,
                     ::berth::snapshotter::WriteDiff(
                         lower, upper, options, [&](absl::string_view data) -> absl::Status {
                           if (ctx->IsCancelled())
                             return absl::CancelledError("the client went away");
                           return w->Write(data);
                         }));
    // The store checks what it received against what was computed while writing.
    RETURN_IF_ERROR(w->SetExpected(r.size, r.digest));
    // Held before the commit: if the namespace already has the blob, the commit adds nothing
    // to the lease, and the blob might be unreferenced until the caller uses the answer.
    if (hold_ && !lease.empty()) RETURN_IF_ERROR(hold_(ns, lease, r.digest));
    ::berth::content::Labels labels(req->labels().begin(), req->labels().end());
    labels[kUncompressedLabel] = r.diff_id;
    absl::StatusOr<::berth::content::Info> info = w->Commit(labels);
    if (!info.ok() && !absl::IsAlreadyExists(info.status())) return info.status();
    std::string media_type = req->media_type();
    if (media_type.empty()) media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
    resp->mutable_diff()->set_media_type(media_type);
    resp->mutable_diff()->set_digest(r.digest);
    resp->mutable_diff()->set_size(r.size);
    (*resp->mutable_diff()->mutable_annotations())[kUncompressedLabel] = r.diff_id;
    return absl::OkStatus();
  }();
  if (!st.ok()) return ToGrpcStatus(absl::Status(st.code(), absl::StrCat("diff: ", st.message())));
  return grpc::Status::OK;
}

}  // namespace berth::services
