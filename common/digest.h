// Content digests ("sha256:<64 lowercase hex>") and a streaming SHA-256 (OpenSSL libcrypto).
#ifndef BERTH_COMMON_DIGEST_H_
#define BERTH_COMMON_DIGEST_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth {

class Digest {
 public:
  // Accepts only sha256 with exactly 64 lowercase hex digits: a digest names a file under
  // blobs/sha256/, so anything looser could become a path.
  static absl::StatusOr<Digest> Parse(absl::string_view text);
  static Digest Sha256FromHex(std::string hex);

  const std::string& algorithm() const { return algorithm_; }
  const std::string& hex() const { return hex_; }
  std::string ToString() const { return algorithm_ + ":" + hex_; }

  friend bool operator==(const Digest& a, const Digest& b) {
    return a.algorithm_ == b.algorithm_ && a.hex_ == b.hex_;
  }
  friend bool operator!=(const Digest& a, const Digest& b) { return !(a == b); }

 private:
  Digest(std::string algorithm, std::string hex)
      : algorithm_(std::move(algorithm)), hex_(std::move(hex)) {}
  std::string algorithm_;
  std::string hex_;
};

// Incremental SHA-256: feed with Update(), read with Final() (once).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view data);
  Digest Final();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

Digest Sha256Of(absl::string_view data);

}  // namespace berth

#endif  // BERTH_COMMON_DIGEST_H_
