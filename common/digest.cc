#include "common/digest.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace berth {

absl::StatusOr<Digest> Digest::Parse(absl::string_view text) {
  size_t colon = text.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid digest \"", text, "\": expected algorithm:hex"));
  }
  absl::string_view alg = text.substr(0, colon);
  absl::string_view hex = text.substr(colon + 1);
  if (alg != "sha256") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported digest algorithm \"", alg, "\" in \"", text, "\""));
  }
  bool ok = hex.size() == 64;
  for (char c : hex) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid digest \"", text, "\": sha256 needs 64 lowercase hex digits"));
  }
  return Digest(std::string(alg), std::string(hex));
}

Digest Digest::Sha256FromHex(std::string hex) { return Digest("sha256", std::move(hex)); }

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
}

Sha256::~Sha256() = default;

void Sha256::Update(absl::string_view data) {
  EVP_DigestUpdate(ctx_->md, data.data(), data.size());
}

Digest Sha256::Final() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md, out, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 0xf]);
  }
  return Digest::Sha256FromHex(std::move(hex));
}

Digest Sha256Of(absl::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Final();
}

}  // namespace berth
