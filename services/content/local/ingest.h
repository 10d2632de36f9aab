// Pieces of the ingest protocol that need no store: the state file, a SHA-256 whose running
// value can be read without ending it, and removal of an ingest directory.
#ifndef BERTH_SERVICES_CONTENT_LOCAL_INGEST_H_
#define BERTH_SERVICES_CONTENT_LOCAL_INGEST_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/digest.h"

namespace berth::content::local {

// Refs are client-chosen keys; they are hashed into directory names, so only their length
// matters to us.
inline constexpr size_t kMaxRefBytes = 1024;
absl::Status ValidateRef(const std::string& ref);

// state.json. `offset` is informational (written when a writer lets go); the data file's size
// is the truth, since a crash can leave the state file behind the data.
struct IngestState {
  std::string ns;
  std::string ref;
  int64_t total = 0;
  std::string expected;
  absl::Time started_at;
  int64_t offset = 0;
};

std::string EncodeIngestState(const IngestState& state);
absl::StatusOr<IngestState> DecodeIngestState(absl::string_view json, const std::string& file);

// SHA-256 over a stream, with a Peek() at the digest so far.
class RunningSha256 {
 public:
  RunningSha256();
  ~RunningSha256();
  RunningSha256(const RunningSha256&) = delete;
  RunningSha256& operator=(const RunningSha256&) = delete;

  void Update(absl::string_view data);
  void Reset();
  Digest Peek() const;

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Removes an ingest directory and the plain files in it. A missing directory is fine.
absl::Status RemoveIngestDir(const std::string& dir);

}  // namespace berth::content::local

#endif  // BERTH_SERVICES_CONTENT_LOCAL_INGEST_H_
