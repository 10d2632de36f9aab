#include "services/content/local/ingest.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/syscall.h"

namespace berth::content::local {

absl::Status ValidateRef(const std::string& ref) {
  if (ref.empty()) return absl::InvalidArgumentError("ingest ref is empty");
  if (ref.size() > kMaxRefBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ingest ref is ", ref.size(), " bytes, more than the limit of ", kMaxRefBytes));
  }
  return absl::OkStatus();
}

std::string EncodeIngestState(const IngestState& s) {
  nlohmann::json j = {
      {"namespace", s.ns},
      {"ref", s.ref},
      {"total", s.total},
      {"expected", s.expected},
      {"started_at", absl::FormatTime(absl::RFC3339_full, s.started_at, absl::UTCTimeZone())},
      {"offset", s.offset},
  };
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

absl::StatusOr<IngestState> DecodeIngestState(absl::string_view json, const std::string& file) {
  nlohmann::json j = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  auto bad = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("ingest state ", file, ": ", why));
  };
  if (!j.is_object()) return bad("not a JSON object");
  IngestState s;
  try {
    s.ns = j.at("namespace").get<std::string>();
    s.ref = j.at("ref").get<std::string>();
    s.total = j.at("total").get<int64_t>();
    s.expected = j.at("expected").get<std::string>();
    s.offset = j.value("offset", int64_t{0});
    std::string started = j.at("started_at").get<std::string>();
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, started, &s.started_at, &err)) {
      return bad(absl::StrCat("started_at \"", started, "\": ", err));
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  return s;
}

struct RunningSha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

RunningSha256::RunningSha256() : ctx_(std::make_unique<Ctx>()) { Reset(); }
RunningSha256::~RunningSha256() = default;

void RunningSha256::Reset() { EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr); }

void RunningSha256::Update(absl::string_view data) {
  EVP_DigestUpdate(ctx_->md, data.data(), data.size());
}

Digest RunningSha256::Peek() const {
  Ctx copy;
  EVP_MD_CTX_copy_ex(copy.md, ctx_->md);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(copy.md, out, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 0xf]);
  }
  return Digest::Sha256FromHex(std::move(hex));
}

absl::Status RemoveIngestDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(absl::StrCat("opendir(", dir, ")"), errno);
  }
  absl::Status st;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    absl::Status rm = sys::RemoveIfExists(absl::StrCat(dir, "/", name));
    if (st.ok()) st = rm;
  }
  ::closedir(d);
  if (st.ok() && ::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    st = ErrnoStatus(absl::StrCat("rmdir(", dir, ")"), errno);
  }
  return st;
}

}  // namespace berth::content::local
