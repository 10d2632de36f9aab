#include "services/images/importer.h"

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/digest.h"
#include "common/status_macros.h"
#include "services/images/docker_archive.h"
#include "services/images/image_ingest.h"
#include "services/images/reference.h"
#include "spdlog/spdlog.h"

namespace berth::images {
namespace {

using ::berth::content::ContentStore;
using metadata::Db;

constexpr size_t kChunk = 1 << 20;
// Often enough for a progress bar to move smoothly, at one small message per megabyte.
constexpr int64_t kProgressEvery = 1 << 20;
constexpr char kBlobPrefix[] = "blobs/sha256/";

struct Stored {
  std::string digest;
  int64_t size = 0;
  std::string head;  // first bytes, for the compression magic
};

absl::Status CheckDigest(const std::string& expected, const std::string& actual) {
  if (expected == actual) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("digest mismatch: the file is named for ",
                                                 expected, " but its bytes hash to ", actual,
                                                 "; the archive is corrupt"));
}

bool IsDocumentFile(const std::string& path) {
  return path == "index.json" || path == "oci-layout" || path == kDockerManifestFile ||
         path == "repositories";
}

class Load {
 public:
  Load(ContentStore& store, metadata::MetadataStore& md, const ImportOptions& options,
       const ProgressFn& progress)
      : store_(store),
        opts_(options),
        progress_(progress),
        ingest_(store, md, options.ns, "load") {}

  absl::StatusOr<std::vector<metadata::ImageRecord>> Run(ChunkSource source) {
    return ingest_.Run<std::vector<metadata::ImageRecord>>(
        [&] { return RunLeased(std::move(source)); });
  }

 private:
  absl::StatusOr<std::vector<metadata::ImageRecord>> RunLeased(ChunkSource source) {
    ASSIGN_OR_RETURN(std::unique_ptr<TarReader> tar, TarReader::Open(std::move(source)));
    int entries = 0;
    for (;;) {
      ASSIGN_OR_RETURN(absl::optional<TarEntry> entry, tar->Next());
      if (!entry.has_value()) break;
      ++entries;
      if (entry->type == TarEntry::Type::kLink) {
        links_[entry->path] = entry->link;
      } else if (entry->type == TarEntry::Type::kFile) {
        RETURN_IF_ERROR(
            Annotate(StoreEntry(*tar, *entry), absl::StrCat("archive entry ", entry->path)));
      }
    }
    if (entries == 0) return absl::InvalidArgumentError("the archive is empty");

    std::vector<metadata::ImageRecord> images;
    if (docs_.count("index.json") > 0) {
      ASSIGN_OR_RETURN(images, FromOciLayout());
    } else if (docs_.count(kDockerManifestFile) > 0) {
      ASSIGN_OR_RETURN(images, FromDockerArchive());
    } else {
      return absl::InvalidArgumentError(
          "the archive has neither index.json (an OCI image layout) nor manifest.json (a "
          "docker-archive)");
    }
    if (images.empty()) return absl::InvalidArgumentError("the archive holds no image");

    const absl::Time now = absl::Now();
    std::vector<metadata::ImageRecord> named;  // once per name
    RETURN_IF_ERROR(ingest_.Name([&](Db& db) -> absl::Status {
      named.clear();
      std::set<std::string> seen;
      for (metadata::ImageRecord r : images) {
        r.created_at = r.updated_at = now;
        RETURN_IF_ERROR(NameDangling(db, r));
        if (!seen.insert(r.name).second) continue;
        RETURN_IF_ERROR(metadata::PutImage(db, r));
        named.push_back(std::move(r));
      }
      return absl::OkStatus();
    }));
    images = std::move(named);
    for (const metadata::ImageRecord& r : images) {
      progress_({.ref = r.name, .status = "named", .offset = 0, .total = 0});
    }
    return images;
  }

  // As in Docker, an image is dangling only while it has no name: an unnamed entry whose
  // target already has a name in the namespace becomes that image, and a named one replaces
  // the dangling record of its target.
  absl::Status NameDangling(Db& db, metadata::ImageRecord& r) {
    if (!IsDanglingName(r.name)) {
      return metadata::DeleteImage(db, opts_.ns, DanglingName(r.target.digest)).status();
    }
    absl::optional<metadata::ImageRecord> named;
    RETURN_IF_ERROR(metadata::ForEachImage(db, opts_.ns, [&](metadata::ImageRecord other) {
      if (!named.has_value() && other.target.digest == r.target.digest &&
          !IsDanglingName(other.name)) {
        named = std::move(other);
      }
      return absl::OkStatus();
    }));
    if (named.has_value()) {
      // Re-put as it is (only its updated time moves).
      named->updated_at = r.updated_at;
      r = *std::move(named);
    }
    return absl::OkStatus();
  }

  absl::Status StoreEntry(TarReader& tar, const TarEntry& entry) {
    std::string buf(kChunk, '\0');
    if (IsDocumentFile(entry.path)) {
      RETURN_IF_ERROR(CheckDocumentSize(entry.size, entry.path));
      std::string& doc = docs_[entry.path];
      doc.clear();
      for (;;) {
        ASSIGN_OR_RETURN(size_t n, tar.Read(buf.data(), buf.size()));
        if (n == 0) break;
        doc.append(buf.data(), n);
        RETURN_IF_ERROR(CheckDocumentSize(static_cast<int64_t>(doc.size()), entry.path));
      }
      return absl::OkStatus();
    }

    std::string expected;
    if (absl::StartsWith(entry.path, kBlobPrefix)) {
      ASSIGN_OR_RETURN(Digest d, Digest::Parse(absl::StrCat(
                                     "sha256:", entry.path.substr(sizeof(kBlobPrefix) - 1))));
      expected = d.ToString();
      if (store_.GetInfo(opts_.ns, d).ok()) {
        // Already here: its bytes need not be stored again, but the lease must hold it, and
        // an archive that lies about its contents is refused all the same.
        Sha256 hash;
        for (;;) {
          ASSIGN_OR_RETURN(size_t n, tar.Read(buf.data(), buf.size()));
          if (n == 0) break;
          hash.Update(absl::string_view(buf.data(), n));
        }
        RETURN_IF_ERROR(CheckDigest(expected, hash.Final().ToString()));
        RETURN_IF_ERROR(ingest_.Hold(expected));
        files_[entry.path] = {.digest = expected, .size = entry.size, .head = ""};
        progress_(
            {.ref = entry.path, .status = "exists", .offset = entry.size, .total = entry.size});
        return absl::OkStatus();
      }
    }

    const std::string ref = absl::StrCat(ingest_.lease(), "/", entry.path);
    absl::Status st = WriteBlob(tar, entry, ref, expected, buf);
    if (!st.ok()) {
      absl::Status abort = store_.Abort(opts_.ns, ref);
      if (!abort.ok() && !absl::IsNotFound(abort)) {
        spdlog::warn("aborting ingest {} after a failed load: {}", ref, abort.ToString());
      }
    }
    return st;
  }

  absl::Status WriteBlob(TarReader& tar, const TarEntry& entry, const std::string& ref,
                         const std::string& expected, std::string& buf) {
    ASSIGN_OR_RETURN(
        std::unique_ptr<::berth::content::Writer> w,
        store_.OpenWriter(
            opts_.ns,
            {.ref = ref, .total = entry.size, .expected = expected, .lease = ingest_.lease()}));
    if (w->Status().offset != 0) RETURN_IF_ERROR(w->Truncate());
    Stored stored{.digest = "", .size = 0, .head = ""};
    int64_t next_report = kProgressEvery;
    progress_({.ref = entry.path, .status = "loading", .offset = 0, .total = entry.size});
    for (;;) {
      ASSIGN_OR_RETURN(size_t n, tar.Read(buf.data(), buf.size()));
      if (n == 0) break;
      if (stored.head.size() < 8) stored.head.append(buf.data(), std::min<size_t>(n, 8));
      RETURN_IF_ERROR(w->Write(absl::string_view(buf.data(), n)));
      stored.size += static_cast<int64_t>(n);
      if (stored.size >= next_report) {
        progress_(
            {.ref = entry.path, .status = "loading", .offset = stored.size, .total = entry.size});
        next_report += kProgressEvery;
      }
    }
    stored.digest = w->DigestSoFar().ToString();
    if (!expected.empty()) RETURN_IF_ERROR(CheckDigest(expected, stored.digest));
    RETURN_IF_ERROR(ingest_.Commit(*w, stored.digest, {}));
    progress_({.ref = entry.path, .status = "done", .offset = stored.size, .total = entry.size});
    files_[entry.path] = std::move(stored);
    return absl::OkStatus();
  }

  absl::Status CheckAndLabel(const Descriptor& target) {
    return ingest_.LabelTree(target, opts_.platform.has_value() ? opts_.platform : HostPlatform());
  }

  absl::StatusOr<std::string> NameFor(const Descriptor& d) {
    auto annotation = [&](const char* key) -> std::string {
      auto it = d.annotations.find(key);
      return it == d.annotations.end() ? "" : it->second;
    };
    std::string name = annotation(kContainerdImageName);
    const std::string ref_name = annotation(kOciRefName);
    if (name.empty() && !ref_name.empty()) {
      const bool bare_tag = !absl::StrContains(ref_name, '/') && !absl::StrContains(ref_name, ':');
      if (!bare_tag) {
        name = ref_name;
      } else if (!opts_.base_name.empty()) {
        ASSIGN_OR_RETURN(Reference base, ParseNormalized(opts_.base_name));
        name = absl::StrCat(base.Repository(), ":", ref_name);
      }
    }
    if (name.empty()) name = opts_.base_name;
    if (name.empty()) return DanglingName(d.digest);
    absl::StatusOr<std::string> normalized = Normalize(name);
    if (!normalized.ok()) return Annotate(normalized.status(), "index.json");
    return normalized;
  }

  absl::StatusOr<std::vector<metadata::ImageRecord>> FromOciLayout() {
    if (auto it = docs_.find("oci-layout");
        it != docs_.end() && !absl::StrContains(it->second, "\"1.0.0\"")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "oci-layout: unsupported imageLayoutVersion (berth reads 1.0.0): ", it->second));
    }
    ASSIGN_OR_RETURN(Index index, ParseIndex(docs_["index.json"], "index.json"));
    std::vector<metadata::ImageRecord> images;
    for (const Descriptor& d : index.manifests) {
      ASSIGN_OR_RETURN(std::string name, NameFor(d));
      RETURN_IF_ERROR(CheckAndLabel(d));
      metadata::ImageRecord r{.ns = opts_.ns, .name = name};
      r.target = {.media_type = d.media_type,
                  .digest = d.digest,
                  .size = d.size,
                  .annotations = d.annotations};
      r.target.annotations.erase(kContainerdImageName);
      r.target.annotations.erase(kOciRefName);
      images.push_back(std::move(r));
    }
    return images;
  }

  absl::StatusOr<Stored> Resolve(const std::string& path, absl::string_view role) {
    std::string p = path;
    for (int hops = 0; hops < 16; ++hops) {
      if (auto it = files_.find(p); it != files_.end()) return it->second;
      auto link = links_.find(p);
      if (link == links_.end()) break;
      p = link->second;
    }
    return absl::NotFoundError(absl::StrCat(kDockerManifestFile, " names ", role, " \"", path,
                                            "\", which is not in the archive"));
  }

  absl::StatusOr<std::vector<metadata::ImageRecord>> FromDockerArchive() {
    ASSIGN_OR_RETURN(std::vector<DockerArchiveEntry> entries,
                     ParseDockerManifestFile(docs_[kDockerManifestFile]));
    std::vector<metadata::ImageRecord> images;
    for (const DockerArchiveEntry& e : entries) {
      ASSIGN_OR_RETURN(Stored config, Resolve(e.config, "config"));
      RETURN_IF_ERROR(CheckDocumentSize(config.size, absl::StrCat("config ", e.config)));
      std::vector<Descriptor> layers;
      for (const std::string& l : e.layers) {
        ASSIGN_OR_RETURN(Stored layer, Resolve(l, "layer"));
        layers.push_back({.media_type = LayerMediaTypeFromMagic(layer.head),
                          .digest = layer.digest,
                          .size = layer.size});
      }
      const std::string json = ManifestJson(
          DockerSchema2Manifest({.digest = config.digest, .size = config.size}, layers),
          kDockerManifest);
      ASSIGN_OR_RETURN(Descriptor target, PutDocument(json, kDockerManifest));
      RETURN_IF_ERROR(CheckAndLabel(target));
      std::vector<std::string> names;
      for (const std::string& tag : e.repo_tags) {
        ASSIGN_OR_RETURN(std::string n, Normalize(tag));
        names.push_back(n);
      }
      if (names.empty() && !opts_.base_name.empty()) {
        ASSIGN_OR_RETURN(std::string n, Normalize(opts_.base_name));
        names.push_back(n);
      }
      if (names.empty()) names.push_back(DanglingName(target.digest));
      for (const std::string& n : names) {
        images.push_back(
            {.ns = opts_.ns,
             .name = n,
             .target = {
                 .media_type = target.media_type, .digest = target.digest, .size = target.size}});
      }
    }
    return images;
  }

  absl::StatusOr<Descriptor> PutDocument(const std::string& data, const char* media_type) {
    const Digest d = Sha256Of(data);
    Descriptor desc{.media_type = media_type,
                    .digest = d.ToString(),
                    .size = static_cast<int64_t>(data.size())};
    if (store_.GetInfo(opts_.ns, d).ok()) {
      RETURN_IF_ERROR(ingest_.Hold(desc.digest));
      return desc;
    }
    RETURN_IF_ERROR(ingest_.WriteDocument(desc, data, {}));
    return desc;
  }

  ContentStore& store_;
  const ImportOptions& opts_;
  const ProgressFn& progress_;
  ImageIngest ingest_;
  std::map<std::string, Stored> files_;
  std::map<std::string, std::string> links_;
  std::map<std::string, std::string> docs_;
};

}  // namespace

absl::StatusOr<std::vector<metadata::ImageRecord>> ImportArchive(ContentStore& store,
                                                                 metadata::MetadataStore& md,
                                                                 const ImportOptions& options,
                                                                 ChunkSource source,
                                                                 const ProgressFn& progress) {
  Load load(store, md, options, progress);
  return load.Run(std::move(source));
}

}  // namespace berth::images
