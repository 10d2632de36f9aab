#include "services/check/checker.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "common/digest.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "services/check/host.h"
#include "services/common/proto_time.h"
#include "services/images/oci.h"
#include "services/images/walk.h"
#include "services/metadata/container_records.h"
#include "services/metadata/image_records.h"
#include "services/metadata/lease_records.h"
#include "services/metadata/volume_records.h"
#include "snapshotter/storage/fsutil.h"
#include "spdlog/spdlog.h"

namespace berth::check {
namespace {

namespace pb = ::berth::services::check::v1;
namespace cpb = ::berth::services::containers::v1;
namespace spb = ::berth::services::snapshots::v1;
namespace tpb = ::berth::services::tasks::v1;

// Work that started after this daemon did and is younger than this may still be going on.
constexpr absl::Duration kInFlight = absl::Minutes(10);
constexpr auto kCallDeadline = std::chrono::seconds(30);
// How long apart the two looks of a check are.
constexpr absl::Duration kConfirmDelay = absl::Milliseconds(300);

std::unique_ptr<grpc::ClientContext> Context(const std::string& ns) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("berth-namespace", ns);
  ctx->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  return ctx;
}

// "build-<build id>-<n>-what" → the build id.
std::string BuildIdOf(const std::string& key) {
  if (!absl::StartsWith(key, "build-")) return "";
  const size_t dash = key.find('-', 6);
  return dash == std::string::npos ? "" : key.substr(6, dash - 6);
}

// Mounts inside another are removed first.
bool Deeper(const MountEntry& a, const MountEntry& b) {
  return a.mount_point.size() > b.mount_point.size();
}

bool Unmount(const std::string& mount_point) {
  return ::umount2(mount_point.c_str(), 0) == 0 || ::umount2(mount_point.c_str(), MNT_DETACH) == 0;
}

}  // namespace

bool LeftByInterruptedWork(const std::string& key) {
  if (absl::StartsWith(key, "extract-")) return true;
  return key.size() == 64 && std::all_of(key.begin(), key.end(), [](char c) {
           return absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
         });
}

Checker::Checker(CheckerConfig config, std::shared_ptr<metadata::MetadataStore> md,
                 std::shared_ptr<content::ContentStore> content, ChannelSource channels)
    : config_(std::move(config)),
      md_(std::move(md)),
      content_(std::move(content)),
      channels_(std::move(channels)) {}

void Checker::Add(Report& r, const std::string& area, const std::string& ns,
                  const std::string& object, const std::string& problem, bool fixed) {
  pb::Finding* f = r.add_findings();
  f->set_area(area);
  f->set_namespace_(ns);
  f->set_object(object);
  f->set_problem(problem);
  f->set_fixed(fixed);
}

std::vector<std::string> Checker::Namespaces() {
  std::set<std::string> names;
  md_->db
      ->View([&](metadata::Db& db) -> absl::Status {
        absl::StatusOr<metadata::Statement> st = db.Prepare("SELECT name FROM namespaces");
        if (!st.ok()) return st.status();
        for (;;) {
          absl::StatusOr<bool> row = st->Step();
          if (!row.ok()) return row.status();
          if (!*row) return absl::OkStatus();
          names.insert(st->ColumnText(0));
        }
      })
      .IgnoreError();
  // Task directories may outlive every record of their namespace.
  for (const std::string& ns : SubDirs(path::Join(config_.state, "tasks"))) names.insert(ns);
  return {names.begin(), names.end()};
}

std::string Checker::SnapshotterOf(const cpb::Container& c) const {
  return c.snapshotter().empty() ? config_.default_snapshotter : c.snapshotter();
}

Checker::SnapshotSet Checker::ListSnapshots(const std::string& ns, const std::string& snapshotter) {
  SnapshotSet out;
  std::shared_ptr<grpc::Channel> ch = channels_("snapshots");
  if (ch == nullptr) return out;
  spb::ListSnapshotsRequest req;
  req.set_snapshotter(snapshotter);
  auto ctx = Context(ns);
  auto stream = spb::Snapshots::NewStub(ch)->List(ctx.get(), req);
  spb::ListSnapshotsResponse resp;
  while (stream->Read(&resp)) {
    for (const spb::Info& i : resp.info()) out.infos.push_back(i);
  }
  out.listed = stream->Finish().ok();
  return out;
}

bool Checker::RemoveSnapshot(const std::string& ns, const std::string& snapshotter,
                             const std::string& key) {
  std::shared_ptr<grpc::Channel> ch = channels_("snapshots");
  if (ch == nullptr) return false;
  spb::RemoveSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_key(key);
  google::protobuf::Empty e;
  grpc::Status st = spb::Snapshots::NewStub(ch)->Remove(Context(ns).get(), req, &e);
  if (!st.ok() && st.error_code() != grpc::StatusCode::NOT_FOUND) {
    spdlog::warn("check: removing snapshot {}/{} ({}): {}", ns, key, snapshotter,
                 st.error_message());
    return false;
  }
  return true;
}

absl::StatusOr<std::vector<Checker::NsView>> Checker::Gather() {
  std::vector<NsView> out;
  const absl::Time now = absl::Now();
  std::vector<metadata::HeldResource> held;
  RETURN_IF_ERROR(md_->db->View([&](metadata::Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(held, metadata::LiveLeaseResources(db, now));
    return absl::OkStatus();
  }));
  for (const std::string& name : Namespaces()) {
    NsView v;
    v.name = name;
    RETURN_IF_ERROR(md_->db->View([&](metadata::Db& db) -> absl::Status {
      RETURN_IF_ERROR(
          metadata::ForEachContainer(db, name, [&](metadata::ContainerRow row) -> absl::Status {
            cpb::Container c;
            if (!c.ParseFromString(row.record)) c.set_id(row.id);
            v.containers.push_back(std::move(c));
            return absl::OkStatus();
          }));
      ASSIGN_OR_RETURN(std::vector<metadata::LeaseRecord> leases, metadata::ListLeases(db, name));
      for (const metadata::LeaseRecord& l : leases) {
        if (!l.expires_at.has_value() || *l.expires_at > now) v.leases.insert(l.id);
      }
      return metadata::ForEachVolume(db, name, [&](metadata::VolumeRow row) {
        v.volumes.insert(row.name);
        return absl::OkStatus();
      });
    }));
    for (const cpb::Container& c : v.containers) {
      v.container_ids.insert(c.id());
      if (!c.snapshot_key().empty())
        v.container_snapshots.insert({SnapshotterOf(c), c.snapshot_key()});
    }
    for (const metadata::HeldResource& h : held) {
      if (h.ns == name) v.held.insert({h.resource.type, h.resource.id});
    }
    if (std::shared_ptr<grpc::Channel> ch = channels_("tasks")) {
      tpb::ListTasksResponse tasks;
      if (tpb::Tasks::NewStub(ch)->List(Context(name).get(), {}, &tasks).ok()) {
        v.tasks_listed = true;
        for (const tpb::Process& p : tasks.tasks()) v.tasks.insert(p.container_id());
      }
    }
    for (const std::string& s : config_.snapshotters) v.snapshots[s] = ListSnapshots(name, s);
    out.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<pb::CheckResponse> Checker::Run(bool fix) {
  // What berthd is doing at this moment (deleting a task, say) can look like a leftover for
  // an instant: only what two looks a moment apart both find is reported, or repaired.
  confirmed_ = nullptr;
  ASSIGN_OR_RETURN(Report first, Pass(/*fix=*/false));
  if (first.findings_size() == 0) return first;
  std::set<std::string> seen;
  for (const pb::Finding& f : first.findings())
    seen.insert(Key(f.area(), f.namespace_(), f.object()));
  absl::SleepFor(kConfirmDelay);
  confirmed_ = &seen;
  absl::StatusOr<Report> second = Pass(fix);
  confirmed_ = nullptr;
  if (!second.ok()) return second.status();
  Report out;
  *out.mutable_checked() = second->checked();
  for (const pb::Finding& f : second->findings()) {
    if (seen.count(Key(f.area(), f.namespace_(), f.object())) > 0) *out.add_findings() = f;
  }
  return out;
}

absl::StatusOr<pb::CheckResponse> Checker::Pass(bool fix) {
  ASSIGN_OR_RETURN(std::vector<NsView> all, Gather());
  Report r;
  for (const NsView& ns : all) {
    CheckImages(ns, r);
    CheckContainers(ns, r);
    CheckSnapshots(ns, fix, r);
    CheckIngests(ns, fix, r);
  }
  CheckMounts(all, fix, r);  // first: an unfinished task directory goes once unmounted
  CheckTasks(all, fix, r);
  CheckCgroups(all, fix, r);
  return r;
}

std::string Checker::Key(const std::string& area, const std::string& ns,
                         const std::string& object) {
  return absl::StrCat(area, "\n", ns, "\n", object);
}

bool Checker::MayFix(const std::string& area, const std::string& ns,
                     const std::string& object) const {
  return confirmed_ != nullptr && confirmed_->count(Key(area, ns, object)) > 0;
}

void Checker::CheckImages(const NsView& ns, Report& r) {
  std::vector<metadata::ImageRecord> images;
  md_->db
      ->View([&](metadata::Db& db) {
        return metadata::ForEachImage(db, ns.name, [&](metadata::ImageRecord rec) {
          images.push_back(std::move(rec));
          return absl::OkStatus();
        });
      })
      .IgnoreError();
  for (const metadata::ImageRecord& image : images) {
    (*r.mutable_checked())["images"]++;
    images::Descriptor target{.media_type = image.target.media_type,
                              .digest = image.target.digest,
                              .size = image.target.size,
                              .annotations = image.target.annotations};
    // The walk reads the records and the documents; the layers' bytes must be there too.
    auto nothing = [&](const images::Descriptor& desc,
                       const std::vector<images::Descriptor>&) -> absl::Status {
      ASSIGN_OR_RETURN(Digest digest, Digest::Parse(desc.digest));
      ASSIGN_OR_RETURN(std::unique_ptr<content::Reader> blob, content_->Open(ns.name, digest));
      if (blob->size() != desc.size) {
        return absl::DataLossError(absl::StrCat("blob ", desc.digest, " has ", blob->size(),
                                                " bytes, but the image says ", desc.size));
      }
      return absl::OkStatus();
    };
    absl::Status st =
        images::Walk(*content_, ns.name, target, {.platform = images::HostPlatform()}, nothing);
    if (absl::IsFailedPrecondition(st)) {
      // An image for other platforms only: what it has must be whole.
      st = images::Walk(*content_, ns.name, target, {}, nothing);
    }
    if (!st.ok()) Add(r, "content", ns.name, image.name, std::string(st.message()));
  }
}

void Checker::CheckContainers(const NsView& ns, Report& r) {
  for (const cpb::Container& c : ns.containers) {
    (*r.mutable_checked())["containers"]++;
    if (c.snapshot_key().empty()) continue;
    const std::string snapshotter = SnapshotterOf(c);
    auto it = ns.snapshots.find(snapshotter);
    if (it == ns.snapshots.end() || !it->second.listed) continue;  // cannot tell
    const bool found =
        std::any_of(it->second.infos.begin(), it->second.infos.end(),
                    [&](const spb::Info& i) { return i.name() == c.snapshot_key(); });
    if (!found) {
      Add(r, "snapshots", ns.name, c.id(),
          absl::StrCat("container ", c.name(), " has no snapshot: ", snapshotter,
                       " has no snapshot \"", c.snapshot_key(), "\""));
    }
  }
}

std::string Checker::SnapshotOwner(const NsView& ns, const std::string& snapshotter,
                                   const spb::Info& info) const {
  const std::string& key = info.name();
  if (ns.container_snapshots.count({snapshotter, key}) > 0) return "container";
  if (ns.held.count({"snapshots/" + snapshotter, key}) > 0) return "lease";
  if (const std::string build = BuildIdOf(key);
      !build.empty() && ns.leases.count("berth.build-" + build) > 0) {
    return "build";
  }
  const absl::Time created = services::FromProto(info.created_at());
  if (LeftByInterruptedWork(key) && created >= config_.started_at &&
      absl::Now() - created < kInFlight) {
    return "in flight";
  }
  return "";
}

void Checker::CheckSnapshots(const NsView& ns, bool fix, Report& r) {
  for (const auto& [snapshotter, set] : ns.snapshots) {
    if (!set.listed) continue;
    for (const spb::Info& info : set.infos) {
      (*r.mutable_checked())["snapshots"]++;
      if (info.kind() != spb::ACTIVE && info.kind() != spb::VIEW) continue;
      if (!SnapshotOwner(ns, snapshotter, info).empty()) continue;
      const bool removable = LeftByInterruptedWork(info.name());
      const bool fixed = fix && removable && MayFix("snapshots", ns.name, info.name()) &&
                         RemoveSnapshot(ns.name, snapshotter, info.name());
      Add(r, "snapshots", ns.name, info.name(),
          absl::StrCat(info.kind() == spb::VIEW ? "view" : "active", " snapshot in ", snapshotter,
                       " that no container, lease or build holds",
                       removable ? " (left by an interrupted unpack, create or rm)"
                                 : "; remove it with the snapshots API if nothing needs it"),
          fixed);
    }
  }
}

void Checker::CheckIngests(const NsView& ns, bool fix, Report& r) {
  absl::StatusOr<std::vector<content::IngestStatus>> ingests = content_->ListStatuses(ns.name);
  if (!ingests.ok()) return;
  for (const content::IngestStatus& s : *ingests) {
    (*r.mutable_checked())["ingests"]++;
    if (ns.held.count({"ingests", s.ref}) > 0) continue;
    // Loads and pulls name their ingests "<lease>/…": the job's lease keeps them.
    const size_t slash = s.ref.find('/');
    if (slash != std::string::npos && ns.leases.count(s.ref.substr(0, slash)) > 0) continue;
    if (s.updated_at >= config_.started_at) continue;  // a writer may still come back
    const bool fixed =
        fix && MayFix("ingests", ns.name, s.ref) && content_->Abort(ns.name, s.ref).ok();
    Add(r, "ingests", ns.name, s.ref,
        absl::StrCat("abandoned ingest (", s.offset, " bytes", s.total ? " of " : "",
                     s.total ? absl::StrCat(s.total) : "", ", last written ",
                     absl::FormatTime(absl::RFC3339_sec, s.updated_at, absl::UTCTimeZone()),
                     ") that no lease holds"),
        fixed);
  }
}

void Checker::CheckTasks(const std::vector<NsView>& all, bool fix, Report& r) {
  const std::string base = path::Join(config_.state, "tasks");
  for (const NsView& ns : all) {
    for (const std::string& id : SubDirs(path::Join(base, ns.name))) {
      (*r.mutable_checked())["tasks"]++;
      const std::string dir = path::Join(path::Join(base, ns.name), id);
      if (!sys::Exists(path::Join(dir, "task.json"))) {
        // One from before this daemon started cannot be a create in flight; RemoveAll stops at
        // a mount point, so nothing mounted below is ever emptied.
        struct stat st;
        const bool old = ::stat(dir.c_str(), &st) == 0 &&
                         absl::TimeFromTimespec(st.st_mtim) < config_.started_at;
        const bool fixed =
            fix && old && MayFix("tasks", ns.name, dir) && snapshotter::RemoveAll(dir).ok();
        Add(r, "tasks", ns.name, dir,
            "task directory without task.json (a create that was interrupted); berthd removes "
            "these when it starts",
            fixed);
        continue;
      }
      pid_t pid = 0;
      absl::StatusOr<std::string> text = sys::ReadFile(path::Join(dir, "shim.pid"));
      const bool alive = text.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) &&
                         ProcessAlive(pid, config_.proc) &&
                         !CommandLine(pid, config_.proc).empty() &&
                         path::Base(CommandLine(pid, config_.proc)[0]) == "berth-shim";
      if (!alive && !sys::Exists(path::Join(dir, "exit.json"))) {
        Add(r, "shims", ns.name, id,
            absl::StrCat("task directory ", dir,
                         " has neither a live shim nor an exit status (exit.json)"));
      }
      if (ns.container_ids.count(id) == 0) {
        Add(r, "tasks", ns.name, id, "task of a container that does not exist");
      } else if (ns.tasks_listed && ns.tasks.count(id) == 0) {
        Add(r, "tasks", ns.name, id,
            absl::StrCat("task directory ", dir, " that berthd does not serve"));
      }
    }
  }
  const std::string prefix = base + "/";
  for (const ShimProcess& s : FindShims(config_.proc)) {
    if (!absl::StartsWith(s.state_dir, prefix)) continue;  // another daemon's
    (*r.mutable_checked())["shims"]++;
    const std::string rel = s.state_dir.substr(prefix.size());
    const std::string ns = rel.substr(0, rel.find('/'));
    if (!sys::Exists(s.state_dir)) {
      Add(r, "shims", ns, absl::StrCat("pid ", s.pid),
          absl::StrCat("berth-shim for ", s.id, " runs without its task directory ", s.state_dir));
      continue;
    }
    pid_t owner = 0;
    absl::StatusOr<std::string> text = sys::ReadFile(path::Join(s.state_dir, "shim.pid"));
    if (text.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &owner) &&
        owner != s.pid) {
      Add(r, "shims", ns, absl::StrCat("pid ", s.pid),
          absl::StrCat("a second berth-shim for ", s.id, " (the task's shim is pid ", owner, ")"));
    }
  }
}

void Checker::CheckMounts(const std::vector<NsView>& all, bool fix, Report& r) {
  absl::StatusOr<std::string> text = sys::ReadFile(config_.mountinfo);
  if (!text.ok()) return;
  std::vector<MountEntry> mounts = ParseMountInfo(*text);
  std::stable_sort(mounts.begin(), mounts.end(), Deeper);
  const std::string root = path::Clean(config_.root), state = path::Clean(config_.state);
  auto view = [&](const std::string& name) -> const NsView* {
    for (const NsView& v : all) {
      if (v.name == name) return &v;
    }
    return nullptr;
  };
  auto build_running = [&](const std::string& id) {
    return std::any_of(all.begin(), all.end(),
                       [&](const NsView& v) { return v.leases.count("berth.build-" + id) > 0; });
  };
  for (const MountEntry& m : mounts) {
    const std::string mp = path::Clean(m.mount_point);
    std::vector<std::string> rel;
    std::string owner;
    if (mp != state && path::IsWithin(state, mp)) {
      rel = absl::StrSplit(mp.substr(state.size() + 1), '/');
      // tasks/<ns>/<id>/rootfs…: the task's, while berthd serves it.
      if (rel.size() >= 3 && rel[0] == "tasks") {
        const NsView* v = view(rel[1]);
        const std::string task_json =
            path::Join(path::Join(state, "tasks"), rel[1] + "/" + rel[2] + "/task.json");
        const bool served =
            (v != nullptr && v->tasks_listed) ? v->tasks.count(rel[2]) > 0 : sys::Exists(task_json);
        if (served) owner = "task";
      }
    } else if (mp != root && path::IsWithin(root, mp)) {
      rel = absl::StrSplit(mp.substr(root.size() + 1), '/');
      if (rel.size() >= 3 && rel[0] == "volumes") {
        const NsView* v = view(rel[1]);
        if (v != nullptr && v->volumes.count(rel[2]) > 0) owner = "volume";
      } else if (rel.size() >= 3 && rel[0] == "build" && rel[1] == "tmp" && build_running(rel[2])) {
        owner = "build";
      }
    } else {
      continue;  // not berth's
    }
    (*r.mutable_checked())["mounts"]++;
    if (!owner.empty()) continue;
    const bool fixed = fix && MayFix("mounts", "", mp) && Unmount(mp);
    Add(r, "mounts", "", mp,
        absl::StrCat(m.fstype, " mount (from ", m.source, ") that no task, volume or build owns"),
        fixed);
  }
}

void Checker::CheckCgroups(const std::vector<NsView>& all, bool fix, Report& r) {
  absl::StatusOr<std::string> text = sys::ReadFile(config_.mountinfo);
  if (!text.ok()) return;
  absl::StatusOr<std::string> cg2 = Cgroup2Mount(ParseMountInfo(*text));
  if (!cg2.ok()) return;
  for (const NsView& ns : all) {
    // The CLI's containers live in /berth/<namespace>/<id> (linux.cgroupsPath).
    const std::string dir = path::Join(path::Join(*cg2, "berth"), ns.name);
    for (const std::string& id : SubDirs(dir)) {
      (*r.mutable_checked())["cgroups"]++;
      const std::string cg = path::Join(dir, id);
      const bool exists = ns.container_ids.count(id) > 0;
      if (exists && (!ns.tasks_listed || ns.tasks.count(id) > 0)) continue;
      if (CgroupPopulated(cg)) {
        if (!exists) {
          Add(r, "cgroups", ns.name, cg,
              absl::StrCat("processes run in the cgroup of container ", id,
                           ", which does not exist"));
        }
        continue;
      }
      const bool fixed = fix && MayFix("cgroups", ns.name, cg) && ::rmdir(cg.c_str()) == 0;
      Add(r, "cgroups", ns.name, cg,
          absl::StrCat("empty cgroup of container ", id,
                       exists ? ", which has no task" : ", which does not exist"),
          fixed);
    }
  }
}

absl::StatusOr<int> Checker::RepairAfterCrash() {
  ASSIGN_OR_RETURN(std::vector<NsView> all, Gather());
  int removed = 0;
  for (const NsView& ns : all) {
    for (const auto& [snapshotter, set] : ns.snapshots) {
      for (const spb::Info& info : set.infos) {
        if (info.kind() != spb::ACTIVE || !LeftByInterruptedWork(info.name())) continue;
        if (services::FromProto(info.created_at()) >= config_.started_at) continue;
        if (!SnapshotOwner(ns, snapshotter, info).empty()) continue;
        // A client that prepared it just before the crash may be creating its container now.
        absl::optional<metadata::ContainerRow> row;
        md_->db
            ->View([&](metadata::Db& db) -> absl::Status {
              ASSIGN_OR_RETURN(row, metadata::GetContainer(db, ns.name, info.name()));
              return absl::OkStatus();
            })
            .IgnoreError();
        if (row.has_value()) continue;
        spdlog::info(
            "removing snapshot {} ({}, namespace {}): an interrupted unpack, create or "
            "rm left it",
            info.name(), snapshotter, ns.name);
        if (RemoveSnapshot(ns.name, snapshotter, info.name())) ++removed;
      }
    }
  }
  return removed;
}

}  // namespace berth::check
