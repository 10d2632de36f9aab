// Garbage collection over the metadata: mark from roots, then sweep.
//
// Roots are objects that keep themselves alive: resources held by a live lease, content
// labelled berth.io/gc.root, and (as those services arrive) images and containers, which
// register their own RootFinder. From each root the collector follows references: a content
// record's labels "berth.io/gc.ref.content" and "berth.io/gc.ref.content.<anything>" name
// other blobs (by digest, in the same namespace) that it keeps alive, as a manifest keeps its
// config and layers.
//
// One collection: in a single write transaction, drop expired leases, mark, and delete every
// unmarked content record in every namespace. Then each Sweeper removes backing data (blob
// files) that no namespace references any more.
#ifndef BERTH_SERVICES_METADATA_GC_H_
#define BERTH_SERVICES_METADATA_GC_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/metadata/metadata.h"

namespace berth::metadata {

inline constexpr char kGcRootLabel[] = "berth.io/gc.root";
inline constexpr char kGcRefContentLabel[] = "berth.io/gc.ref.content";

// A node of the reference graph. type is a lease resource type: "content", "snapshots/<x>"…
struct GcNode {
  std::string ns;
  std::string type;
  std::string id;
};

// Appends the roots one kind of object contributes. Runs inside the collection's transaction.
using RootFinder = std::function<absl::Status(Db& db, absl::Time now, std::vector<GcNode>* roots)>;

// Removes backing data that no metadata record references any more. It must exclude its own
// writers while it runs, so that data in the middle of being committed is never taken.
class Sweeper {
 public:
  virtual ~Sweeper() = default;
  // Returns how many objects it removed.
  virtual absl::StatusOr<int64_t> SweepUnreferenced(Metadata& md) = 0;
};

struct GcStats {
  int64_t leases_expired = 0;
  int64_t records_removed = 0;  // content records, across namespaces
  int64_t objects_removed = 0;  // what the sweepers removed (blob files)
  absl::Duration took;
};

class Collector {
 public:
  // Starts with the built-in roots: live lease resources and berth.io/gc.root content.
  explicit Collector(Metadata* md);

  void AddRoots(RootFinder finder);
  // Weak: a sweeper that is gone is skipped.
  void AddSweeper(std::weak_ptr<Sweeper> sweeper);

  // Runs one full collection. Collections do not overlap.
  absl::StatusOr<GcStats> Collect(absl::Time now = absl::Now());

 private:
  Metadata* const md_;
  absl::Mutex mu_;
  std::vector<RootFinder> roots_ ABSL_GUARDED_BY(mu_);
  std::vector<std::weak_ptr<Sweeper>> sweepers_ ABSL_GUARDED_BY(mu_);
};

// True when `key` is a content reference label.
bool IsContentRefLabel(const std::string& key);

}  // namespace berth::metadata

#endif  // BERTH_SERVICES_METADATA_GC_H_
