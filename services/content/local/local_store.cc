#include "services/content/local/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "services/content/local/ingest.h"
#include "services/metadata/content_records.h"
#include "services/metadata/lease_records.h"

namespace berth::content::local {
namespace {

using metadata::ContentRecord;
using metadata::Db;

std::string Named(const std::string& ns, const std::string& digest) {
  return absl::StrCat("content ", digest, " in namespace \"", ns, "\"");
}

absl::Status NotFound(const std::string& ns, const std::string& digest) {
  return absl::NotFoundError(
      absl::StrCat("content ", digest, " not found in namespace \"", ns, "\""));
}

Info ToInfo(ContentRecord r) {
  return Info{.digest = std::move(r.digest),
              .size = r.size,
              .created_at = r.created_at,
              .updated_at = r.updated_at,
              .labels = std::move(r.labels)};
}

class FileReader final : public Reader {
 public:
  FileReader(UniqueFd fd, int64_t size, std::string path)
      : fd_(std::move(fd)), size_(size), path_(std::move(path)) {}
  int64_t size() const override { return size_; }
  absl::StatusOr<size_t> ReadAt(int64_t offset, char* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      ssize_t r =
          sys::RetryEintr([&] { return ::pread(fd_.get(), buf + done, n - done, offset + done); });
      if (r < 0) return ErrnoStatus(absl::StrCat("pread(", path_, ", ", offset + done, ")"), errno);
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }

 private:
  UniqueFd fd_;
  int64_t size_;
  std::string path_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<LocalContentStore>> LocalContentStore::Open(
    const std::string& content_root, metadata::Metadata* md) {
  std::shared_ptr<LocalContentStore> store(new LocalContentStore(content_root, md));
  RETURN_IF_ERROR(sys::MkdirAll(store->paths_.BlobsDir(), 0711));
  RETURN_IF_ERROR(sys::MkdirAll(store->paths_.IngestRoot(), 0700));
  return store;
}

absl::StatusOr<Info> LocalContentStore::GetInfo(const std::string& ns, const Digest& digest) {
  absl::optional<ContentRecord> rec;
  RETURN_IF_ERROR(md_->View([&](Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(rec, metadata::GetContent(db, ns, digest.ToString()));
    return absl::OkStatus();
  }));
  if (!rec.has_value()) return NotFound(ns, digest.ToString());
  return ToInfo(*std::move(rec));
}

absl::StatusOr<Info> LocalContentStore::Update(const std::string& ns, const Info& info,
                                               const std::vector<std::string>& paths) {
  ASSIGN_OR_RETURN(Digest digest, Digest::Parse(info.digest));
  RETURN_IF_ERROR(metadata::ValidateLabels(info.labels));
  absl::optional<ContentRecord> rec;
  RETURN_IF_ERROR(md_->Update([&](Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(rec, metadata::GetContent(db, ns, digest.ToString()));
    if (!rec.has_value()) return NotFound(ns, digest.ToString());
    Labels labels = rec->labels;
    if (paths.empty()) labels = info.labels;
    for (const std::string& p : paths) {
      if (p == "labels") {
        labels = info.labels;
      } else if (absl::StartsWith(p, "labels.") && p.size() > 7) {
        const std::string key = p.substr(7);
        auto it = info.labels.find(key);
        if (it == info.labels.end()) {
          labels.erase(key);
        } else {
          labels[key] = it->second;
        }
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot update field \"", p, "\" of ", Named(ns, digest.ToString()),
                         ": only \"labels\" and \"labels.<key>\" can change"));
      }
    }
    RETURN_IF_ERROR(metadata::ValidateLabels(labels));
    rec->labels = std::move(labels);
    rec->updated_at = absl::Now();
    return metadata::UpdateContentLabels(db, ns, rec->digest, rec->labels, rec->updated_at);
  }));
  return ToInfo(*std::move(rec));
}

absl::Status LocalContentStore::List(const std::string& ns,
                                     const std::function<absl::Status(const Info&)>& fn) {
  // Read the records first and call `fn` outside the database lock: it may block on a slow
  // client stream.
  std::vector<Info> infos;
  RETURN_IF_ERROR(md_->View([&](Db& db) {
    return metadata::ForEachContent(db, ns, [&](ContentRecord r) {
      infos.push_back(ToInfo(std::move(r)));
      return absl::OkStatus();
    });
  }));
  for (const Info& info : infos) RETURN_IF_ERROR(fn(info));
  return absl::OkStatus();
}

absl::Status LocalContentStore::Delete(const std::string& ns, const Digest& digest) {
  return md_->Update([&](Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(bool deleted, metadata::DeleteContent(db, ns, digest.ToString()));
    if (!deleted) return NotFound(ns, digest.ToString());
    return absl::OkStatus();
  });
}

absl::StatusOr<std::unique_ptr<Reader>> LocalContentStore::Open(const std::string& ns,
                                                                const Digest& digest) {
  RETURN_IF_ERROR(GetInfo(ns, digest).status());
  const std::string path = paths_.Blob(digest);
  absl::StatusOr<UniqueFd> fd = sys::Open(path, O_RDONLY);
  if (absl::IsNotFound(fd.status())) {
    return absl::DataLossError(absl::StrCat(
        Named(ns, digest.ToString()), " is recorded but its blob file ", path, " is missing"));
  }
  RETURN_IF_ERROR(fd.status());
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return ErrnoStatus(absl::StrCat("fstat(", path, ")"), errno);
  return std::unique_ptr<Reader>(new FileReader(*std::move(fd), st.st_size, path));
}

bool LocalContentStore::Lock(const std::string& key) {
  absl::MutexLock l(&locks_mu_);
  return locked_.insert(key).second;
}

void LocalContentStore::Unlock(const std::string& key) {
  absl::MutexLock l(&locks_mu_);
  locked_.erase(key);
}

bool LocalContentStore::Locked(const std::string& key) {
  absl::MutexLock l(&locks_mu_);
  return locked_.count(key) > 0;
}

absl::StatusOr<IngestStatus> LocalContentStore::ReadStatus(const std::string& key,
                                                           const std::string& ns,
                                                           const std::string& ref) {
  const std::string state_file = paths_.IngestState(key);
  absl::StatusOr<std::string> text = sys::ReadFile(state_file);
  if (absl::IsNotFound(text.status())) {
    return absl::NotFoundError(
        absl::StrCat("ingest ref \"", ref, "\" not found in namespace \"", ns, "\""));
  }
  RETURN_IF_ERROR(text.status());
  ASSIGN_OR_RETURN(IngestState state, DecodeIngestState(*text, state_file));
  IngestStatus s{.ref = state.ref,
                 .offset = 0,
                 .total = state.total,
                 .expected = state.expected,
                 .started_at = state.started_at,
                 .updated_at = state.started_at};
  struct stat st;
  if (::stat(paths_.IngestData(key).c_str(), &st) == 0) {
    s.offset = st.st_size;
    s.updated_at = absl::TimeFromTimespec(st.st_mtim);
  }
  return s;
}

absl::StatusOr<IngestStatus> LocalContentStore::Status(const std::string& ns,
                                                       const std::string& ref) {
  RETURN_IF_ERROR(ValidateRef(ref));
  return ReadStatus(Paths::IngestKey(ns, ref), ns, ref);
}

absl::StatusOr<std::vector<std::string>> LocalContentStore::IngestKeys() const {
  const std::string root = paths_.IngestRoot();
  DIR* d = ::opendir(root.c_str());
  if (d == nullptr) return ErrnoStatus(absl::StrCat("opendir(", root, ")"), errno);
  std::vector<std::string> keys;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') keys.push_back(e->d_name);
  }
  ::closedir(d);
  return keys;
}

absl::StatusOr<std::vector<IngestStatus>> LocalContentStore::ListStatuses(const std::string& ns) {
  ASSIGN_OR_RETURN(std::vector<std::string> keys, IngestKeys());
  std::vector<IngestStatus> out;
  for (const std::string& key : keys) {
    absl::StatusOr<std::string> text = sys::ReadFile(paths_.IngestState(key));
    if (!text.ok()) continue;  // being created or removed right now
    absl::StatusOr<IngestState> state = DecodeIngestState(*text, paths_.IngestState(key));
    if (!state.ok() || state->ns != ns) continue;
    absl::StatusOr<IngestStatus> s = ReadStatus(key, ns, state->ref);
    if (s.ok()) out.push_back(*std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const IngestStatus& a, const IngestStatus& b) { return a.ref < b.ref; });
  return out;
}

absl::Status LocalContentStore::Abort(const std::string& ns, const std::string& ref) {
  RETURN_IF_ERROR(ValidateRef(ref));
  const std::string key = Paths::IngestKey(ns, ref);
  if (!Lock(key)) {
    return absl::UnavailableError(absl::StrCat("ingest ref \"", ref, "\" in namespace \"", ns,
                                               "\" is being written; abort it after the writer "
                                               "stops"));
  }
  absl::Status st = sys::Exists(paths_.IngestDir(key))
                        ? RemoveIngestDir(paths_.IngestDir(key))
                        : absl::NotFoundError(absl::StrCat(
                              "ingest ref \"", ref, "\" not found in namespace \"", ns, "\""));
  Unlock(key);
  return st;
}

absl::StatusOr<Info> LocalContentStore::CommitIngest(const std::string& ns, const std::string& key,
                                                     const Digest& digest, int64_t size,
                                                     const Labels& labels,
                                                     const std::string& lease) {
  const std::string blob = paths_.Blob(digest);
  const absl::Time now = absl::Now();
  ContentRecord rec{.ns = ns,
                    .digest = digest.ToString(),
                    .size = size,
                    .labels = labels,
                    .created_at = now,
                    .updated_at = now};
  absl::ReaderMutexLock commit(&commit_mu_);
  absl::Status st = md_->Update([&](Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(absl::optional<ContentRecord> existing,
                     metadata::GetContent(db, ns, rec.digest));
    if (existing.has_value()) {
      return absl::AlreadyExistsError(absl::StrCat(Named(ns, rec.digest), " already exists"));
    }
    if (!lease.empty()) {
      ASSIGN_OR_RETURN(absl::optional<metadata::LeaseRecord> l, metadata::GetLease(db, ns, lease));
      if (!l.has_value()) {
        return absl::NotFoundError(
            absl::StrCat("lease \"", lease, "\" not found in namespace \"", ns, "\""));
      }
    }
    if (!sys::Exists(blob)) {
      // The data file becomes the blob: read-only, renamed in, and the rename made durable
      // before the record that points at it.
      const std::string data = paths_.IngestData(key);
      RETURN_IF_ERROR(sys::Chmod(data, 0444));
      if (::rename(data.c_str(), blob.c_str()) != 0) {
        return ErrnoStatus(absl::StrCat("rename(", data, ", ", blob, ")"), errno);
      }
      ASSIGN_OR_RETURN(UniqueFd dir, sys::Open(paths_.BlobsDir(), O_RDONLY | O_DIRECTORY));
      if (::fsync(dir.get()) != 0) {
        return ErrnoStatus(absl::StrCat("fsync(", paths_.BlobsDir(), ")"), errno);
      }
    }
    RETURN_IF_ERROR(metadata::EnsureNamespace(db, ns, now));
    RETURN_IF_ERROR(metadata::InsertContent(db, rec));
    if (!lease.empty()) {
      RETURN_IF_ERROR(metadata::AddLeaseResource(db, ns, lease, {"content", rec.digest}));
    }
    return absl::OkStatus();
  });
  // Committed, or refused as a duplicate: either way this ingest is finished.
  if (st.ok() || absl::IsAlreadyExists(st)) {
    if (absl::Status rm = RemoveIngestDir(paths_.IngestDir(key)); !rm.ok() && st.ok()) st = rm;
  }
  RETURN_IF_ERROR(st);
  return ToInfo(std::move(rec));
}

absl::StatusOr<int64_t> LocalContentStore::SweepUnreferenced(metadata::Metadata& md) {
  absl::WriterMutexLock commit(&commit_mu_);
  std::set<std::string> referenced;
  RETURN_IF_ERROR(md.View([&](Db& db) {
    return metadata::ForEachContent(db, "", [&](ContentRecord r) {
      referenced.insert(std::move(r.digest));
      return absl::OkStatus();
    });
  }));
  const std::string dir = paths_.BlobsDir();
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(absl::StrCat("opendir(", dir, ")"), errno);
  std::vector<Digest> orphans;
  while (dirent* e = ::readdir(d)) {
    // Anything that is not a blob name (an editor's leftovers, say) is not ours to remove.
    absl::StatusOr<Digest> digest = Digest::Parse(absl::StrCat("sha256:", e->d_name));
    if (digest.ok() && referenced.count(digest->ToString()) == 0) orphans.push_back(*digest);
  }
  ::closedir(d);
  int64_t removed = 0;
  for (const Digest& digest : orphans) {
    RETURN_IF_ERROR(sys::RemoveIfExists(paths_.Blob(digest)));
    ++removed;
  }
  ASSIGN_OR_RETURN(int64_t expired, ExpireIngests());
  return removed + expired;
}

void LocalContentStore::SetIngestExpiry(absl::Duration expiry) {
  absl::MutexLock l(&locks_mu_);
  ingest_expiry_ = expiry;
}

absl::StatusOr<int64_t> LocalContentStore::ExpireIngests(absl::Time now) {
  absl::Duration expiry;
  {
    absl::MutexLock l(&locks_mu_);
    expiry = ingest_expiry_;
  }
  if (expiry <= absl::ZeroDuration() || expiry == absl::InfiniteDuration()) return 0;
  ASSIGN_OR_RETURN(std::vector<std::string> keys, IngestKeys());
  struct Stale {
    std::string key;
    IngestState state;
  };
  std::vector<Stale> stale;
  for (const std::string& key : keys) {
    absl::StatusOr<std::string> text = sys::ReadFile(paths_.IngestState(key));
    if (!text.ok()) continue;  // being created or removed right now
    absl::StatusOr<IngestState> state = DecodeIngestState(*text, paths_.IngestState(key));
    if (!state.ok()) continue;  // not ours to judge: `berth system check` reports it
    absl::StatusOr<IngestStatus> s = ReadStatus(key, state->ns, state->ref);
    if (!s.ok() || now - s->updated_at <= expiry) continue;
    stale.push_back({key, *std::move(state)});
  }
  if (stale.empty()) return 0;

  // What live leases hold: ingests by ref, and the lease ids themselves (a load or pull
  // names its ingests "<lease>/…").
  std::set<std::pair<std::string, std::string>> held, leases;
  RETURN_IF_ERROR(md_->View([&](Db& db) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<metadata::HeldResource> resources,
                     metadata::LiveLeaseResources(db, now));
    for (const metadata::HeldResource& h : resources) {
      if (h.resource.type == "ingests") held.insert({h.ns, h.resource.id});
    }
    std::set<std::string> namespaces;
    for (const Stale& s : stale) namespaces.insert(s.state.ns);
    for (const std::string& ns : namespaces) {
      ASSIGN_OR_RETURN(std::vector<metadata::LeaseRecord> records, metadata::ListLeases(db, ns));
      for (const metadata::LeaseRecord& r : records) {
        if (!r.expires_at.has_value() || *r.expires_at > now) leases.insert({ns, r.id});
      }
    }
    return absl::OkStatus();
  }));
  int64_t removed = 0;
  for (const Stale& s : stale) {
    if (held.count({s.state.ns, s.state.ref}) > 0) continue;
    const size_t slash = s.state.ref.find('/');
    if (slash != std::string::npos &&
        leases.count({s.state.ns, s.state.ref.substr(0, slash)}) > 0) {
      continue;
    }
    if (!Lock(s.key)) continue;  // a writer came back
    absl::Status st = RemoveIngestDir(paths_.IngestDir(s.key));
    Unlock(s.key);
    RETURN_IF_ERROR(Annotate(st, absl::StrCat("expiring ingest \"", s.state.ref,
                                              "\" in namespace \"", s.state.ns, "\"")));
    ++removed;
  }
  return removed;
}

}  // namespace berth::content::local
