// The checks behind `berth system check` (berth.services.check.v1): berth's records against
// the content store, the snapshotters, the mount table, the shims and the cgroup2 tree, and
// the repairs that are safe to make. Also what a restarted daemon removes on its own: the
// active snapshots of unpacks and container creations that a crash interrupted.
#ifndef BERTH_SERVICES_CHECK_CHECKER_H_
#define BERTH_SERVICES_CHECK_CHECKER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "berth/services/check/v1/check.pb.h"
#include "berth/services/containers/v1/containers.pb.h"
#include "berth/services/snapshots/v1/snapshots.pb.h"
#include "services/content/content_store.h"
#include "services/metadata/store.h"

namespace berth::check {

struct CheckerConfig {
  std::string root;
  std::string state;
  std::string default_snapshotter = "overlayfs";
  std::vector<std::string> snapshotters;  // the ones that serve, by name
  absl::Time started_at;                  // this daemon's start: older work was interrupted
  std::string proc = "/proc";
  std::string mountinfo = "/proc/self/mountinfo";
};

using ChannelSource = std::function<std::shared_ptr<grpc::Channel>(const std::string&)>;

// Active snapshots that only interrupted work makes: an unpack's "extract-…" and the berth
// CLI's container snapshots, keyed by the 64-hex container id, between Prepare and the
// record (or, in rm, between the record's deletion and the snapshot's).
bool LeftByInterruptedWork(const std::string& key);

class Checker {
 public:
  Checker(CheckerConfig config, std::shared_ptr<metadata::MetadataStore> md,
          std::shared_ptr<content::ContentStore> content, ChannelSource channels);

  // Not thread-safe: one check at a time (CheckService serialises them).
  absl::StatusOr<::berth::services::check::v1::CheckResponse> Run(bool fix);

  // Removes the active snapshots that interrupted work left (LeftByInterruptedWork) and that
  // were made before this daemon started, unless a container or a lease holds them. Returns
  // how many went.
  absl::StatusOr<int> RepairAfterCrash();

 private:
  struct SnapshotSet {
    bool listed = false;  // false: the snapshotter did not answer
    std::vector<::berth::services::snapshots::v1::Info> infos;
  };
  // One namespace as the check sees it.
  struct NsView {
    std::string name;
    std::vector<::berth::services::containers::v1::Container> containers;
    std::set<std::string> container_ids;
    std::set<std::pair<std::string, std::string>> container_snapshots;  // (snapshotter, key)
    std::set<std::string> leases;
    std::set<std::pair<std::string, std::string>> held;  // live lease resources (type, id)
    std::set<std::string> volumes;
    std::set<std::string> tasks;  // the tasks berthd serves
    bool tasks_listed = false;
    std::map<std::string, SnapshotSet> snapshots;  // by snapshotter
  };

  using Report = ::berth::services::check::v1::CheckResponse;
  // One look: every check, repairing what `fix` allows and MayFix confirms.
  absl::StatusOr<Report> Pass(bool fix);
  static std::string Key(const std::string& area, const std::string& ns, const std::string& object);
  // Seen by the first look too (see Run).
  bool MayFix(const std::string& area, const std::string& ns, const std::string& object) const;
  absl::StatusOr<std::vector<NsView>> Gather();
  std::vector<std::string> Namespaces();
  SnapshotSet ListSnapshots(const std::string& ns, const std::string& snapshotter);
  bool RemoveSnapshot(const std::string& ns, const std::string& snapshotter,
                      const std::string& key);
  std::string SnapshotterOf(const ::berth::services::containers::v1::Container& c) const;
  // Why `info` is not dangling ("" when it is): a container, a lease, a build, work in flight.
  std::string SnapshotOwner(const NsView& ns, const std::string& snapshotter,
                            const ::berth::services::snapshots::v1::Info& info) const;

  void Add(Report& r, const std::string& area, const std::string& ns, const std::string& object,
           const std::string& problem, bool fixed = false);
  void CheckImages(const NsView& ns, Report& r);
  void CheckContainers(const NsView& ns, Report& r);
  void CheckSnapshots(const NsView& ns, bool fix, Report& r);
  void CheckIngests(const NsView& ns, bool fix, Report& r);
  void CheckTasks(const std::vector<NsView>& all, bool fix, Report& r);
  void CheckMounts(const std::vector<NsView>& all, bool fix, Report& r);
  void CheckCgroups(const std::vector<NsView>& all, bool fix, Report& r);

  const CheckerConfig config_;
  const std::shared_ptr<metadata::MetadataStore> md_;
  const std::shared_ptr<content::ContentStore> content_;
  const ChannelSource channels_;
  const std::set<std::string>* confirmed_ = nullptr;  // during a check's second look
};

}  // namespace berth::check

#endif  // BERTH_SERVICES_CHECK_CHECKER_H_
