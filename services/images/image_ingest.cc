#include "services/images/image_ingest.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "services/images/walk.h"
#include "services/metadata/content_records.h"
#include "services/metadata/gc.h"
#include "services/metadata/lease_records.h"
#include "spdlog/spdlog.h"

namespace berth::images {
namespace {

using metadata::Db;

// A load or pull that outlives this (a daemon that died in the middle) is collected anyway.
constexpr absl::Duration kLeaseLifetime = absl::Hours(1);

std::string NewLeaseId(absl::string_view purpose) {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  absl::MutexLock l(&mu);
  return absl::StrFormat("berth.%s-%016x", purpose, absl::Uniform<uint64_t>(*gen));
}

}  // namespace

ImageIngest::ImageIngest(::berth::content::ContentStore& store, metadata::MetadataStore& md,
                         std::string ns, std::string purpose)
    : store_(store),
      md_(md),
      ns_(std::move(ns)),
      purpose_(std::move(purpose)),
      lease_(NewLeaseId(purpose_)) {}

absl::Status ImageIngest::Begin() {
  const absl::Time now = absl::Now();
  return md_.db->Update([&](Db& db) -> absl::Status {
    RETURN_IF_ERROR(metadata::EnsureNamespace(db, ns_, now));
    return metadata::InsertLease(db, {.ns = ns_,
                                      .id = lease_,
                                      .labels = {{"berth.io/purpose", purpose_}},
                                      .created_at = now,
                                      .expires_at = now + kLeaseLifetime});
  });
}

void ImageIngest::Abandon() {
  // Whatever was stored goes with the lease.
  absl::Status st = md_.db->Update([&](Db& db) { return metadata::DeleteLease(db, ns_, lease_); });
  if (st.ok()) st = md_.gc->Collect().status();
  if (!st.ok()) spdlog::warn("cleaning up after a failed {}: {}", purpose_, st.ToString());
}

absl::Status ImageIngest::Hold(const std::string& digest) {
  return md_.db->Update([&](Db& db) {
    return metadata::AddLeaseResource(db, ns_, lease_, {.type = "content", .id = digest});
  });
}

absl::Status ImageIngest::Commit(::berth::content::Writer& w, const std::string& digest,
                                 const ::berth::content::Labels& labels) {
  absl::StatusOr<::berth::content::Info> info = w.Commit(labels);
  if (absl::IsAlreadyExists(info.status())) return Hold(digest);
  return info.status();
}

absl::Status ImageIngest::WriteDocument(const Descriptor& desc, absl::string_view data,
                                        const ::berth::content::Labels& labels) {
  const std::string ref = absl::StrCat(lease_, "/", desc.digest);
  ASSIGN_OR_RETURN(
      std::unique_ptr<::berth::content::Writer> w,
      store_.OpenWriter(
          ns_, {.ref = ref, .total = desc.size, .expected = desc.digest, .lease = lease_}));
  if (w->Status().offset != 0) RETURN_IF_ERROR(w->Truncate());
  RETURN_IF_ERROR(w->Write(data));
  return Commit(*w, desc.digest, labels);
}

absl::Status ImageIngest::Label(const Descriptor& desc, const std::vector<Descriptor>& children) {
  if (children.empty()) return absl::OkStatus();
  ::berth::content::Info info{.digest = desc.digest};
  std::vector<std::string> paths;
  const Kind kind = KindOf(desc.media_type);
  for (size_t i = 0; i < children.size(); ++i) {
    std::string key;
    if (kind == Kind::kIndex) {
      key = absl::StrCat(metadata::kGcRefContentLabel, ".m.", i);
    } else {
      key = i == 0 ? absl::StrCat(metadata::kGcRefContentLabel, ".config")
                   : absl::StrCat(metadata::kGcRefContentLabel, ".l.", i - 1);
    }
    info.labels[key] = children[i].digest;
    paths.push_back(absl::StrCat("labels.", key));
  }
  return store_.Update(ns_, info, paths).status();
}

absl::Status ImageIngest::LabelTree(const Descriptor& target,
                                    const absl::optional<Platform>& platform) {
  const WalkOptions wo{.platform = platform};
  return Walk(store_, ns_, target, wo,
              [&](const Descriptor& d, const std::vector<Descriptor>& children) {
                return Label(d, children);
              });
}

absl::Status ImageIngest::Name(const std::function<absl::Status(Db&)>& put) {
  return md_.db->Update([&](Db& db) -> absl::Status {
    RETURN_IF_ERROR(put(db));
    // The images hold their blobs now.
    return metadata::DeleteLease(db, ns_, lease_);
  });
}

}  // namespace berth::images
