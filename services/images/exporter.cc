#include "services/images/exporter.h"

#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/status_macros.h"
#include "services/images/docker_archive.h"
#include "services/images/reference.h"
#include "services/images/walk.h"

namespace berth::images {
namespace {

using ::berth::content::ContentStore;

constexpr size_t kChunk = 1 << 20;

std::string BlobPath(const std::string& digest) {
  return absl::StrCat("blobs/sha256/", digest.substr(sizeof("sha256:") - 1));
}

class TarWriter {
 public:
  explicit TarWriter(const ChunkSink& sink) : sink_(sink) {}
  ~TarWriter() {
    if (a_ != nullptr) archive_write_free(a_);
  }

  absl::Status Open() {
    a_ = archive_write_new();
    if (a_ == nullptr) return absl::ResourceExhaustedError("archive_write_new failed");
    if (archive_write_set_format_pax_restricted(a_) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a_, 1) != ARCHIVE_OK ||
        archive_write_open(a_, this, nullptr, &TarWriter::WriteCallback, nullptr) != ARCHIVE_OK) {
      return Error("opening the tar writer");
    }
    return absl::OkStatus();
  }

  absl::Status Directory(const std::string& path) { return Header(path, 0, AE_IFDIR, 0755); }

  absl::Status File(const std::string& path, absl::string_view data) {
    RETURN_IF_ERROR(Header(path, static_cast<int64_t>(data.size()), AE_IFREG, 0644));
    return Data(data);
  }

  absl::Status Header(const std::string& path, int64_t size, unsigned type, int mode) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_size(e, size);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_mtime(e, 0, 0);
    const int rc = archive_write_header(a_, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK) return Error(absl::StrCat("writing the header of ", path));
    return absl::OkStatus();
  }

  absl::Status Data(absl::string_view data) {
    if (archive_write_data(a_, data.data(), data.size()) < 0) return Error("writing data");
    return absl::OkStatus();
  }

  absl::Status Close() {
    if (archive_write_close(a_) != ARCHIVE_OK) return Error("finishing the archive");
    return absl::OkStatus();
  }

 private:
  static la_ssize_t WriteCallback(struct archive* a, void* self, const void* buf, size_t n) {
    auto* w = static_cast<TarWriter*>(self);
    absl::Status st = w->sink_(absl::string_view(static_cast<const char*>(buf), n));
    if (!st.ok()) {
      w->sink_status_ = st;
      archive_set_error(a, EIO, "%s", std::string(st.message()).c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }

  absl::Status Error(absl::string_view what) {
    if (!sink_status_.ok()) return sink_status_;
    const char* msg = archive_error_string(a_);
    return absl::InternalError(absl::StrCat("save: ", what, ": ", msg ? msg : "unknown error"));
  }

  const ChunkSink& sink_;
  struct archive* a_ = nullptr;
  absl::Status sink_status_;
};

absl::Status CopyBlob(ContentStore& store, const std::string& ns, const Descriptor& d,
                      TarWriter& tar) {
  ASSIGN_OR_RETURN(Digest digest, Digest::Parse(d.digest));
  ASSIGN_OR_RETURN(std::unique_ptr<::berth::content::Reader> r, store.Open(ns, digest));
  if (r->size() != d.size) {
    return absl::DataLossError(absl::StrCat("blob ", d.digest, " is ", r->size(),
                                            " bytes, but its descriptor says ", d.size));
  }
  RETURN_IF_ERROR(tar.Header(BlobPath(d.digest), d.size, AE_IFREG, 0444));
  std::string buf(kChunk, '\0');
  int64_t off = 0;
  while (off < d.size) {
    ASSIGN_OR_RETURN(size_t n, r->ReadAt(off, buf.data(), buf.size()));
    if (n == 0) return absl::DataLossError(absl::StrCat("blob ", d.digest, " ends early"));
    RETURN_IF_ERROR(tar.Data(absl::string_view(buf.data(), n)));
    off += static_cast<int64_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ExportArchive(ContentStore& store, const ExportOptions& options,
                           const std::vector<metadata::ImageRecord>& images,
                           const ChunkSink& sink) {
  std::vector<Descriptor> blobs;
  std::set<std::string> seen;
  Index index;
  std::vector<DockerArchiveEntry> docker;
  std::map<std::string, size_t> docker_by_manifest;

  for (const metadata::ImageRecord& img : images) {
    const Descriptor target{.media_type = img.target.media_type,
                            .digest = img.target.digest,
                            .size = img.target.size,
                            .annotations = img.target.annotations};
    const std::string what = absl::StrCat("image \"", img.name, "\"");
    RETURN_IF_ERROR(Annotate(Walk(store, options.ns, target, {.platform = options.platform},
                                  [&](const Descriptor& d, const std::vector<Descriptor>&) {
                                    if (seen.insert(d.digest).second) blobs.push_back(d);
                                    return absl::OkStatus();
                                  }),
                             what));
    ASSIGN_OR_RETURN(Reference ref, ParseNormalized(img.name));
    Descriptor entry = target;
    // A dangling image is saved unnamed, as Docker saves one given by its ID.
    if (!IsDanglingName(img.name)) entry.annotations[kContainerdImageName] = img.name;
    if (!ref.tag.empty()) entry.annotations[kOciRefName] = ref.tag;
    index.manifests.push_back(std::move(entry));

    if (options.format != ArchiveFormat::kDocker) continue;
    absl::StatusOr<Descriptor> m =
        ResolveManifest(store, options.ns, target, options.platform.value_or(HostPlatform()));
    if (!m.ok()) return Annotate(m.status(), what);
    ASSIGN_OR_RETURN(std::string text, ReadDocument(store, options.ns, *m));
    ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(text, absl::StrCat("manifest ", m->digest)));
    auto [it, fresh] = docker_by_manifest.try_emplace(m->digest, docker.size());
    if (fresh) {
      DockerArchiveEntry e{.config = BlobPath(manifest.config.digest)};
      for (const Descriptor& l : manifest.layers) e.layers.push_back(BlobPath(l.digest));
      docker.push_back(std::move(e));
    }
    if (!ref.tag.empty()) docker[it->second].repo_tags.push_back(ref.FamiliarString());
  }

  TarWriter tar(sink);
  RETURN_IF_ERROR(tar.Open());
  RETURN_IF_ERROR(tar.Directory("blobs"));
  RETURN_IF_ERROR(tar.Directory("blobs/sha256"));
  RETURN_IF_ERROR(tar.File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  for (const Descriptor& d : blobs) RETURN_IF_ERROR(CopyBlob(store, options.ns, d, tar));
  RETURN_IF_ERROR(tar.File("index.json", IndexJson(index, kOciIndex)));
  if (options.format == ArchiveFormat::kDocker) {
    RETURN_IF_ERROR(tar.File(kDockerManifestFile, DockerManifestFileJson(docker)));
  }
  return tar.Close();
}

}  // namespace berth::images
