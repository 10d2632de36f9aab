#include "snapshotter/storage/layered.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/filter.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "snapshotter/storage/fsutil.h"

namespace berth::snapshotter {

absl::Status LayeredSnapshotter::Init(const std::string& root) {
  root_ = root;
  RETURN_IF_ERROR(sys::MkdirAll(root_ + "/snapshots", 0700));
  ASSIGN_OR_RETURN(ms_, MetaStore::Open(root_ + "/metadata.db"));
  return absl::OkStatus();
}

std::string LayeredSnapshotter::SnapshotDir(int64_t id) const {
  return absl::StrCat(root_, "/snapshots/", id);
}

absl::StatusOr<Info> LayeredSnapshotter::Stat(const std::string& key) { return ms_->GetInfo(key); }

absl::StatusOr<Info> LayeredSnapshotter::Update(const Info& info,
                                                const std::vector<std::string>& paths) {
  return ms_->UpdateInfo(info, paths);
}

absl::StatusOr<Usage> LayeredSnapshotter::GetUsage(const std::string& key) {
  ASSIGN_OR_RETURN(SnapshotRef ref, ms_->Get(key));
  if (ref.kind == Kind::kCommitted) {
    ASSIGN_OR_RETURN(Usage u, ms_->CommittedUsage(key));
    if (u.size >= 0) return u;
  }
  return DiskUsage(FsDir(ref.id));
}

absl::StatusOr<std::vector<Mount>> LayeredSnapshotter::Mounts(const std::string& key) {
  ASSIGN_OR_RETURN(SnapshotRef ref, ms_->Get(key));
  if (ref.kind == Kind::kCommitted) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot \"", key, "\" is committed; mount a View or Prepare on top of it instead"));
  }
  return MountsFor(ref);
}

absl::StatusOr<std::vector<Mount>> LayeredSnapshotter::Create(Kind kind, const std::string& key,
                                                              const std::string& parent,
                                                              const Labels& labels) {
  absl::ReaderMutexLock l(&cleanup_mu_);
  std::string tmpl = root_ + "/snapshots/new-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return ErrnoStatus(absl::StrCat("mkdtemp(", tmpl, ")"), errno);
  }
  const std::string tmp = tmpl;
  absl::Cleanup drop = [&] { RemoveAll(tmp).IgnoreError(); };
  ASSIGN_OR_RETURN(
      SnapshotRef ref, ms_->Create(kind, key, parent, labels, [&](const SnapshotRef& r) {
        RETURN_IF_ERROR(MakeSnapshotDir(r, tmp));
        // A directory of this id can only be a leftover of an aborted create.
        RETURN_IF_ERROR(RemoveAll(SnapshotDir(r.id)));
        if (::rename(tmp.c_str(), SnapshotDir(r.id).c_str()) != 0) {
          return ErrnoStatus(absl::StrCat("rename(", tmp, ", ", SnapshotDir(r.id), ")"), errno);
        }
        return absl::OkStatus();
      }));
  std::move(drop).Cancel();
  return MountsFor(ref);
}

absl::StatusOr<std::vector<Mount>> LayeredSnapshotter::Prepare(const std::string& key,
                                                               const std::string& parent,
                                                               const Labels& labels) {
  return Create(Kind::kActive, key, parent, labels);
}

absl::StatusOr<std::vector<Mount>> LayeredSnapshotter::View(const std::string& key,
                                                            const std::string& parent,
                                                            const Labels& labels) {
  return Create(Kind::kView, key, parent, labels);
}

absl::Status LayeredSnapshotter::Commit(const std::string& name, const std::string& key,
                                        const Labels& labels) {
  ASSIGN_OR_RETURN(SnapshotRef ref, ms_->Get(key));
  if (ref.kind != Kind::kActive) {
    return absl::FailedPreconditionError(
        absl::StrCat("commit of \"", key, "\": it is ", KindName(ref.kind), ", not active"));
  }
  ASSIGN_OR_RETURN(Usage usage, DiskUsage(FsDir(ref.id)));
  RETURN_IF_ERROR(OnCommit(ref));
  return ms_->Commit(key, name, labels, usage).status();
}

absl::Status LayeredSnapshotter::Remove(const std::string& key) {
  std::string moved;
  ASSIGN_OR_RETURN(int64_t id, ms_->Remove(key, [&](int64_t id) {
    moved = absl::StrCat(root_, "/snapshots/rm-", id);
    if (::rename(SnapshotDir(id).c_str(), moved.c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus(absl::StrCat("rename(", SnapshotDir(id), ", ", moved, ")"), errno);
    }
    return absl::OkStatus();
  }));
  (void)id;
  // The record is gone; a failure here leaves rm-<id> for Cleanup.
  return RemoveAll(moved);
}

absl::Status LayeredSnapshotter::Walk(const std::function<absl::Status(const Info&)>& fn,
                                      const std::vector<std::string>& filters) {
  ASSIGN_OR_RETURN(Filter filter, Filter::Parse(filters));
  return ms_->Walk([&](const Info& info) -> absl::Status {
    auto lookup = [&](const std::vector<std::string>& f) -> absl::optional<std::string> {
      if (f.size() == 1 && f[0] == "name") return info.name;
      if (f.size() == 1 && f[0] == "parent") return info.parent;
      if (f.size() == 1 && f[0] == "kind") return std::string(KindName(info.kind));
      if (f.size() == 2 && f[0] == "labels") {
        auto it = info.labels.find(f[1]);
        if (it != info.labels.end()) return it->second;
      }
      return absl::nullopt;
    };
    if (!filter.Match(lookup)) return absl::OkStatus();
    return fn(info);
  });
}

absl::Status LayeredSnapshotter::Cleanup() {
  absl::WriterMutexLock l(&cleanup_mu_);
  ASSIGN_OR_RETURN(std::set<int64_t> ids, ms_->Ids());
  const std::string dir = root_ + "/snapshots";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(absl::StrCat("opendir(", dir, ")"), errno);
  std::vector<std::string> stale;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    int64_t id;
    if (absl::SimpleAtoi(name, &id) && ids.count(id) > 0) continue;
    stale.push_back(dir + "/" + name);
  }
  ::closedir(d);
  for (const std::string& s : stale) RETURN_IF_ERROR(RemoveAll(s));
  return absl::OkStatus();
}

}  // namespace berth::snapshotter
