#include "services/metadata/gc.h"

#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "services/metadata/content_records.h"
#include "services/metadata/lease_records.h"

namespace berth::metadata {
namespace {

using Key = std::pair<std::string, std::string>;  // (namespace, digest)

absl::Status LeaseRoots(Db& db, absl::Time now, std::vector<GcNode>* roots) {
  ASSIGN_OR_RETURN(std::vector<HeldResource> held, LiveLeaseResources(db, now));
  for (HeldResource& h : held) {
    roots->push_back({.ns = std::move(h.ns),
                      .type = std::move(h.resource.type),
                      .id = std::move(h.resource.id)});
  }
  return absl::OkStatus();
}

}  // namespace

bool IsContentRefLabel(const std::string& key) {
  if (!absl::StartsWith(key, kGcRefContentLabel)) return false;
  return key.size() == sizeof(kGcRefContentLabel) - 1 || key[sizeof(kGcRefContentLabel) - 1] == '.';
}

Collector::Collector(Metadata* md) : md_(md) { roots_.push_back(LeaseRoots); }

void Collector::AddRoots(RootFinder finder) {
  absl::MutexLock l(&mu_);
  roots_.push_back(std::move(finder));
}

void Collector::AddSweeper(std::weak_ptr<Sweeper> sweeper) {
  absl::MutexLock l(&mu_);
  sweepers_.push_back(std::move(sweeper));
}

absl::StatusOr<GcStats> Collector::Collect(absl::Time now) {
  absl::MutexLock l(&mu_);
  const absl::Time start = absl::Now();
  GcStats stats;
  absl::Status st = md_->Update([&](Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(stats.leases_expired, DeleteExpiredLeases(db, now));

    // The whole content graph in memory: tens of thousands of blobs are a few megabytes.
    std::map<Key, std::vector<std::string>> refs;
    std::vector<GcNode> roots;
    RETURN_IF_ERROR(ForEachContent(db, "", [&](ContentRecord r) -> absl::Status {
      std::vector<std::string>& children = refs[{r.ns, r.digest}];
      for (const auto& [key, value] : r.labels) {
        if (IsContentRefLabel(key)) children.push_back(value);
      }
      if (r.labels.count(kGcRootLabel) > 0) {
        roots.push_back({.ns = r.ns, .type = "content", .id = r.digest});
      }
      return absl::OkStatus();
    }));
    for (const RootFinder& find : roots_) RETURN_IF_ERROR(find(db, now, &roots));

    std::set<Key> marked;
    std::vector<Key> stack;
    for (const GcNode& n : roots) {
      if (n.type == "content") stack.push_back({n.ns, n.id});
    }
    while (!stack.empty()) {
      Key k = std::move(stack.back());
      stack.pop_back();
      auto it = refs.find(k);
      // A reference to a blob the namespace does not hold marks nothing.
      if (it == refs.end() || !marked.insert(k).second) continue;
      for (const std::string& child : it->second) stack.push_back({k.first, child});
    }

    for (const auto& [key, children] : refs) {
      if (marked.count(key) > 0) continue;
      ASSIGN_OR_RETURN(bool removed, DeleteContent(db, key.first, key.second));
      stats.records_removed += removed ? 1 : 0;
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return Annotate(st, "garbage collection: marking content");

  for (const std::weak_ptr<Sweeper>& weak : sweepers_) {
    std::shared_ptr<Sweeper> sweeper = weak.lock();
    if (sweeper == nullptr) continue;
    ASSIGN_OR_RETURN(int64_t n, sweeper->SweepUnreferenced(*md_));
    stats.objects_removed += n;
  }
  stats.took = absl::Now() - start;
  return stats;
}

}  // namespace berth::metadata
