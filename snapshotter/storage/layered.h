// The common part of the directory-based snapshotters (overlayfs, native): a metastore and
// one directory per snapshot. Subclasses say how a new snapshot's directory is filled and
// what its mounts are.
//
//   <root>/                      the snapshotter's root, e.g. /var/lib/berth/snapshots/overlayfs
//     metadata.db                the metastore (metastore.h)
//     snapshots/<id>/fs          the snapshot's files (overlay: its upper dir)
//     snapshots/<id>/work        overlay's workdir (active snapshots only)
//     snapshots/new-<random>/    being made; renamed to <id> inside the metastore transaction
//     snapshots/rm-<id>/         being removed; Cleanup finishes what a crash interrupted
#ifndef BERTH_SNAPSHOTTER_STORAGE_LAYERED_H_
#define BERTH_SNAPSHOTTER_STORAGE_LAYERED_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "snapshotter/snapshotter.h"
#include "snapshotter/storage/metastore.h"

namespace berth::snapshotter {

class LayeredSnapshotter : public Snapshotter {
 public:
  absl::StatusOr<Info> Stat(const std::string& key) override;
  absl::StatusOr<Info> Update(const Info& info, const std::vector<std::string>& paths) override;
  absl::StatusOr<Usage> GetUsage(const std::string& key) override;
  absl::StatusOr<std::vector<Mount>> Mounts(const std::string& key) override;
  absl::StatusOr<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent,
                                             const Labels& labels) override;
  absl::StatusOr<std::vector<Mount>> View(const std::string& key, const std::string& parent,
                                          const Labels& labels) override;
  absl::Status Commit(const std::string& name, const std::string& key,
                      const Labels& labels) override;
  absl::Status Remove(const std::string& key) override;
  absl::Status Walk(const std::function<absl::Status(const Info&)>& fn,
                    const std::vector<std::string>& filters) override;
  absl::Status Cleanup() override;

  const std::string& root() const { return root_; }
  std::string SnapshotDir(int64_t id) const;
  std::string FsDir(int64_t id) const { return SnapshotDir(id) + "/fs"; }

 protected:
  // Makes <root>, <root>/snapshots and opens the metastore.
  absl::Status Init(const std::string& root);
  // Fills `dir` (a fresh directory that will become snapshots/<ref.id>) for a new snapshot.
  virtual absl::Status MakeSnapshotDir(const SnapshotRef& ref, const std::string& dir) = 0;
  virtual std::vector<Mount> MountsFor(const SnapshotRef& ref) const = 0;
  // Called on Commit before the metastore changes (overlay drops the work dir).
  virtual absl::Status OnCommit(const SnapshotRef&) { return absl::OkStatus(); }

 private:
  absl::StatusOr<std::vector<Mount>> Create(Kind kind, const std::string& key,
                                            const std::string& parent, const Labels& labels);

  std::string root_;
  std::unique_ptr<MetaStore> ms_;
  // Creates hold it shared, Cleanup exclusively, so Cleanup never takes a new-* directory
  // that is still being filled.
  absl::Mutex cleanup_mu_;
};

}  // namespace berth::snapshotter

#endif  // BERTH_SNAPSHOTTER_STORAGE_LAYERED_H_
