// The steps a load (importer.cc) and a pull (pull.cc) share in taking an image into the content
// store: a lease of their own that holds every blob they store or find already there, whole
// documents written through the store, the gc.ref labels that let an image's root keep
// everything below it (checked by a walk for the chosen platform), and the naming of the
// images in the one transaction that drops the lease. A load or pull that fails names nothing,
// and what it stored goes at the collection that follows.
#ifndef BERTH_SERVICES_IMAGES_IMAGE_INGEST_H_
#define BERTH_SERVICES_IMAGES_IMAGE_INGEST_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "services/content/content_store.h"
#include "services/images/oci.h"
#include "services/metadata/store.h"

namespace berth::images {

class ImageIngest {
 public:
  // `purpose` ("load", "pull") names the lease (berth.<purpose>-<16 hex digits>), labels it
  // berth.io/purpose, and names the operation in the warning after a failed clean-up.
  ImageIngest(::berth::content::ContentStore& store, metadata::MetadataStore& md, std::string ns,
              std::string purpose);

  const std::string& lease() const { return lease_; }

  // Takes the lease (creating the namespace if need be) and runs `body` under it. When `body`
  // fails, the lease is dropped and a collection runs, so whatever `body` stored goes.
  template <typename T>
  absl::StatusOr<T> Run(absl::FunctionRef<absl::StatusOr<T>()> body) {
    absl::Status st = Begin();
    if (!st.ok()) return st;
    absl::StatusOr<T> result = body();
    if (!result.ok()) Abandon();
    return result;
  }

  // Adds a blob the store has already to the lease.
  absl::Status Hold(const std::string& digest);

  // Commits `w`, whose bytes hash to `digest`; a blob that another writer committed first is
  // held instead.
  absl::Status Commit(::berth::content::Writer& w, const std::string& digest,
                      const ::berth::content::Labels& labels);

  // Writes a whole document (`data`, described by `desc`) through an ingest of the lease.
  absl::Status WriteDocument(const Descriptor& desc, absl::string_view data,
                             const ::berth::content::Labels& labels);

  // Walks `target` from the store (for `platform`; with none, every present child) and sets
  // on each parent the gc.ref labels of its children.
  absl::Status LabelTree(const Descriptor& target, const absl::optional<Platform>& platform);

  // Runs `put` (which writes the image records) and drops the lease in one transaction: the
  // images hold their blobs from then on.
  absl::Status Name(const std::function<absl::Status(metadata::Db&)>& put);

 private:
  absl::Status Begin();
  void Abandon();
  absl::Status Label(const Descriptor& desc, const std::vector<Descriptor>& children);

  ::berth::content::ContentStore& store_;
  metadata::MetadataStore& md_;
  const std::string ns_;
  const std::string purpose_;
  const std::string lease_;
};

}  // namespace berth::images

#endif  // BERTH_SERVICES_IMAGES_IMAGE_INGEST_H_
