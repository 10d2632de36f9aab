#include "ctl/image_info.h"

#include <sys/utsname.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "berth/services/content/v1/content.grpc.pb.h"
#include "common/status_macros.h"

namespace berth::ctl {
namespace {

namespace cpb = berth::services::content::v1;
using nlohmann::json;

constexpr size_t kMaxDocument = 16 << 20;
// Set by the daemon's unpack (services/images/unpack.h).
constexpr char kUncompressedSizeLabel[] = "berth.io/uncompressed-size";

std::string HostArch() {
  struct utsname u;
  std::string arch = uname(&u) == 0 ? u.machine : "";
  if (arch == "x86_64") return "amd64";
  if (arch == "aarch64") return "arm64";
  return arch;
}

absl::StatusOr<json> ReadJson(Client& client, cpb::Content::Stub& stub, const std::string& digest) {
  auto ctx = client.Context();
  cpb::ReadContentRequest req;
  req.set_digest(digest);
  auto reader = stub.Read(ctx.get(), req);
  cpb::ReadContentResponse resp;
  std::string data;
  while (reader->Read(&resp)) {
    data += resp.data();
    if (data.size() > kMaxDocument) {
      ctx->TryCancel();
      return absl::InvalidArgumentError(absl::StrCat("document ", digest, " is too large"));
    }
  }
  if (grpc::Status st = reader->Finish(); !st.ok()) return CallError(client, st);
  json j = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("document ", digest, " is not a JSON object"));
  }
  return j;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// A layer's uncompressed size, which unpacking records on its blob; until then (a load or
// pull with --no-unpack), its size as stored.
int64_t UnpackedSize(Client& client, cpb::Content::Stub& stub, const std::string& digest,
                     int64_t stored) {
  cpb::InfoRequest req;
  req.set_digest(digest);
  cpb::InfoResponse resp;
  if (!stub.Info(client.Context().get(), req, &resp).ok()) return stored;
  auto it = resp.info().labels().find(kUncompressedSizeLabel);
  int64_t size = 0;
  if (it == resp.info().labels().end() || !absl::SimpleAtoi(it->second, &size) || size < 0) {
    return stored;
  }
  return size;
}

}  // namespace

absl::StatusOr<ImageDetails> DescribeImage(Client& client,
                                           const berth::services::images::v1::Image& image) {
  auto stub = cpb::Content::NewStub(client.channel());
  std::string digest = image.target().digest();
  ASSIGN_OR_RETURN(json doc, ReadJson(client, *stub, digest));
  for (int depth = 0; depth < 4 && doc.contains("manifests"); ++depth) {
    const std::string arch = HostArch();
    std::string next;
    for (const json& m : doc["manifests"]) {
      if (!m.is_object()) continue;
      auto p = m.find("platform");
      if (p != m.end() && p->is_object() &&
          (Str(*p, "os") != "linux" || Str(*p, "architecture") != arch)) {
        continue;
      }
      next = Str(m, "digest");
      break;
    }
    if (next.empty()) {
      return absl::NotFoundError(
          absl::StrCat("image ", image.name(), " has no manifest for linux/", arch));
    }
    digest = next;
    ASSIGN_OR_RETURN(doc, ReadJson(client, *stub, digest));
  }
  ImageDetails out;
  out.manifest_digest = digest;
  auto config = doc.find("config");
  if (config == doc.end() || !config->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("manifest ", digest, " has no config"));
  }
  out.id = Str(*config, "digest");
  if (auto layers = doc.find("layers"); layers != doc.end() && layers->is_array()) {
    for (const json& l : *layers) {
      if (auto s = l.find("size"); s != l.end() && s->is_number_integer()) {
        out.size += UnpackedSize(client, *stub, Str(l, "digest"), s->get<int64_t>());
      }
    }
  }
  ASSIGN_OR_RETURN(out.config, ReadJson(client, *stub, out.id));
  absl::Time created;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, Str(out.config, "created"), &created, &err)) {
    out.created = created;
  }
  return out;
}

}  // namespace berth::ctl
