// The local store's Writer: one ingest directory held exclusively, appended to, and finally
// verified and renamed into the blob store.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "services/content/local/ingest.h"
#include "services/content/local/local_store.h"
#include "services/metadata/labels.h"
#include "services/metadata/lease_records.h"

namespace berth::content::local {

class LocalWriter final : public Writer {
 public:
  LocalWriter(LocalContentStore* store, std::string key, IngestState state, UniqueFd fd,
              std::string lease)
      : store_(store),
        key_(std::move(key)),
        state_(std::move(state)),
        fd_(std::move(fd)),
        lease_(std::move(lease)),
        updated_at_(absl::Now()) {}

  ~LocalWriter() override {
    if (!finished_) {
      // Best effort: the data file's size is what a resumed writer trusts.
      state_.offset = offset_;
      (void)sys::WriteFileAtomic(store_->paths_.IngestState(key_), EncodeIngestState(state_), 0600);
    }
    store_->Unlock(key_);
  }

  // Reads back what an earlier writer left, so the digest covers every byte.
  absl::Status Rehash() {
    const std::string data = store_->paths_.IngestData(key_);
    char buf[1 << 16];
    for (;;) {
      ssize_t n = sys::RetryEintr([&] { return ::pread(fd_.get(), buf, sizeof(buf), offset_); });
      if (n < 0) return ErrnoStatus(absl::StrCat("pread(", data, ")"), errno);
      if (n == 0) return absl::OkStatus();
      hash_.Update(absl::string_view(buf, static_cast<size_t>(n)));
      offset_ += n;
    }
  }

  IngestStatus Status() const override {
    return IngestStatus{.ref = state_.ref,
                        .offset = offset_,
                        .total = state_.total,
                        .expected = state_.expected,
                        .started_at = state_.started_at,
                        .updated_at = updated_at_};
  }

  Digest DigestSoFar() const override { return hash_.Peek(); }

  absl::Status SetExpected(int64_t total, const std::string& expected) override {
    if (total < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("ingest ref \"", state_.ref, "\": negative total ", total));
    }
    if (!expected.empty()) RETURN_IF_ERROR(Digest::Parse(expected).status());
    bool changed = false;
    if (total > 0 && total != state_.total) {
      state_.total = total;
      changed = true;
    }
    if (!expected.empty() && expected != state_.expected) {
      state_.expected = expected;
      changed = true;
    }
    if (!changed) return absl::OkStatus();
    state_.offset = offset_;
    return sys::WriteFileAtomic(store_->paths_.IngestState(key_), EncodeIngestState(state_), 0600);
  }

  absl::Status Write(absl::string_view data) override {
    if (finished_) return Finished();
    const std::string path = store_->paths_.IngestData(key_);
    absl::string_view rest = data;
    while (!rest.empty()) {
      ssize_t n =
          sys::RetryEintr([&] { return ::pwrite(fd_.get(), rest.data(), rest.size(), offset_); });
      if (n < 0) return ErrnoStatus(absl::StrCat("pwrite(", path, ", ", offset_, ")"), errno);
      hash_.Update(rest.substr(0, static_cast<size_t>(n)));
      offset_ += n;
      rest.remove_prefix(static_cast<size_t>(n));
    }
    updated_at_ = absl::Now();
    return absl::OkStatus();
  }

  absl::Status Truncate() override {
    if (finished_) return Finished();
    if (::ftruncate(fd_.get(), 0) != 0) {
      return ErrnoStatus(absl::StrCat("ftruncate(", store_->paths_.IngestData(key_), ")"), errno);
    }
    hash_.Reset();
    offset_ = 0;
    updated_at_ = absl::Now();
    return absl::OkStatus();
  }

  absl::StatusOr<Info> Commit(const Labels& labels) override {
    if (finished_) return Finished();
    RETURN_IF_ERROR(metadata::ValidateLabels(labels));
    const Digest actual = hash_.Peek();
    std::string mismatch;
    if (state_.total > 0 && offset_ != state_.total) {
      mismatch = absl::StrCat("size mismatch: expected ", state_.total, " bytes, got ", offset_);
    } else if (!state_.expected.empty() && state_.expected != actual.ToString()) {
      mismatch = absl::StrCat("digest mismatch: expected ", state_.expected, ", got ",
                              actual.ToString(), " (", offset_, " bytes)");
    }
    if (!mismatch.empty()) {
      // These bytes can never become the blob that was announced: nothing is stored, and the
      // ingest goes, so that a retry starts clean.
      finished_ = true;
      (void)RemoveIngestDir(store_->paths_.IngestDir(key_));
      return absl::FailedPreconditionError(
          absl::StrCat("commit of ingest ref \"", state_.ref, "\" in namespace \"", state_.ns,
                       "\": ", mismatch, "; nothing stored, ingest discarded"));
    }
    if (::fsync(fd_.get()) != 0) {
      return ErrnoStatus(absl::StrCat("fsync(", store_->paths_.IngestData(key_), ")"), errno);
    }
    absl::StatusOr<Info> info =
        store_->CommitIngest(state_.ns, key_, actual, offset_, labels, lease_);
    if (info.ok() || absl::IsAlreadyExists(info.status())) finished_ = true;
    return info;
  }

 private:
  absl::Status Finished() const {
    return absl::FailedPreconditionError(
        absl::StrCat("ingest ref \"", state_.ref, "\" is already committed or discarded"));
  }

  LocalContentStore* const store_;
  const std::string key_;
  IngestState state_;
  UniqueFd fd_;
  const std::string lease_;
  RunningSha256 hash_;
  int64_t offset_ = 0;
  absl::Time updated_at_;
  bool finished_ = false;
};

absl::StatusOr<std::unique_ptr<Writer>> LocalContentStore::OpenWriter(
    const std::string& ns, const WriterOptions& options) {
  RETURN_IF_ERROR(ValidateRef(options.ref));
  if (!options.expected.empty()) RETURN_IF_ERROR(Digest::Parse(options.expected).status());
  if (options.total < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ingest ref \"", options.ref, "\": negative total ", options.total));
  }
  if (!options.lease.empty()) {
    absl::optional<metadata::LeaseRecord> lease;
    RETURN_IF_ERROR(md_->View([&](metadata::Db& db) -> absl::Status {
      ASSIGN_OR_RETURN(lease, metadata::GetLease(db, ns, options.lease));
      return absl::OkStatus();
    }));
    if (!lease.has_value()) {
      return absl::NotFoundError(
          absl::StrCat("lease \"", options.lease, "\" not found in namespace \"", ns, "\""));
    }
  }
  const std::string key = Paths::IngestKey(ns, options.ref);
  if (!Lock(key)) {
    return absl::UnavailableError(absl::StrCat("ingest ref \"", options.ref, "\" in namespace \"",
                                               ns, "\" is locked by another writer"));
  }
  absl::Cleanup unlock = [&] { Unlock(key); };

  const std::string dir = paths_.IngestDir(key);
  const std::string state_file = paths_.IngestState(key);
  IngestState state;
  bool resume = false;
  if (absl::StatusOr<std::string> text = sys::ReadFile(state_file); text.ok()) {
    ASSIGN_OR_RETURN(state, DecodeIngestState(*text, state_file));
    if (state.ns != ns || state.ref != options.ref) {
      return absl::DataLossError(absl::StrCat("ingest ", dir, " belongs to ref \"", state.ref,
                                              "\" in namespace \"", state.ns, "\", not \"",
                                              options.ref, "\" in \"", ns, "\""));
    }
    resume = true;
  } else if (!absl::IsNotFound(text.status())) {
    return text.status();
  } else {
    // No state: new, or a crash left a directory before its state file. Start over.
    RETURN_IF_ERROR(RemoveIngestDir(dir));
    RETURN_IF_ERROR(sys::Mkdir(dir, 0700));
    state = IngestState{.ns = ns, .ref = options.ref, .started_at = absl::Now()};
  }
  ASSIGN_OR_RETURN(UniqueFd fd, sys::Open(paths_.IngestData(key), O_RDWR | O_CREAT, 0600));
  if (!resume) RETURN_IF_ERROR(sys::WriteFileAtomic(state_file, EncodeIngestState(state), 0600));

  std::move(unlock).Cancel();  // the writer unlocks when it goes
  auto writer =
      std::make_unique<LocalWriter>(this, key, std::move(state), std::move(fd), options.lease);
  RETURN_IF_ERROR(writer->Rehash());
  RETURN_IF_ERROR(writer->SetExpected(options.total, options.expected));
  return std::unique_ptr<Writer>(std::move(writer));
}

}  // namespace berth::content::local
