// Where the local content store keeps its files, under <root>/content:
//
//   content/
//     blobs/sha256/<hex>         committed blobs, mode 0444, shared by every namespace
//     ingest/<key>/              one ingest in flight; key = sha256("<namespace>/<ref>") in hex,
//                                so a ref is never a path ("../x" is just bytes to hash)
//       data                     the bytes received so far; its size is the offset
//       state.json               namespace, ref, expected total and digest, times, offset
//
// Blob and ingest directories are on the same filesystem, so commit is a rename.
#ifndef BERTH_SERVICES_CONTENT_LOCAL_PATHS_H_
#define BERTH_SERVICES_CONTENT_LOCAL_PATHS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "common/digest.h"

namespace berth::content::local {

class Paths {
 public:
  explicit Paths(std::string content_root) : root_(std::move(content_root)) {}

  const std::string& root() const { return root_; }
  std::string BlobsDir() const { return root_ + "/blobs/sha256"; }
  std::string Blob(const Digest& d) const { return absl::StrCat(BlobsDir(), "/", d.hex()); }
  std::string IngestRoot() const { return root_ + "/ingest"; }
  static std::string IngestKey(const std::string& ns, const std::string& ref) {
    return Sha256Of(absl::StrCat(ns, "/", ref)).hex();
  }
  std::string IngestDir(const std::string& key) const {
    return absl::StrCat(IngestRoot(), "/", key);
  }
  std::string IngestData(const std::string& key) const { return IngestDir(key) + "/data"; }
  std::string IngestState(const std::string& key) const { return IngestDir(key) + "/state.json"; }

 private:
  std::string root_;
};

}  // namespace berth::content::local

#endif  // BERTH_SERVICES_CONTENT_LOCAL_PATHS_H_
