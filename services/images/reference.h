// Image references as Docker writes and reads them, parsed and normalised:
//
//   busybox                      → docker.io/library/busybox:latest
//   foo/bar                      → docker.io/foo/bar:latest
//   localhost:5000/x:1           → localhost:5000/x:1
//   name@sha256:<64 hex>         → docker.io/library/name@sha256:<64 hex>
//
// The grammar is distribution/reference's: a name is '/'-separated lowercase components
// ([a-z0-9]+ joined by '.', '_', '__' or dashes); the first component is a registry when it
// has a '.' or a ':' or is "localhost"; a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; a digest
// is sha256 with 64 lowercase hex digits. Names are at most 255 characters.
#ifndef BERTH_SERVICES_IMAGES_REFERENCE_H_
#define BERTH_SERVICES_IMAGES_REFERENCE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::images {

inline constexpr char kDefaultDomain[] = "docker.io";
inline constexpr char kOfficialRepoPrefix[] = "library/";
inline constexpr char kDefaultTag[] = "latest";

struct Reference {
  std::string domain;  // "docker.io", "localhost:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // empty when the reference has a digest
  std::string digest;  // "sha256:<hex>" or empty

  // "docker.io/library/busybox"
  std::string Repository() const { return domain + "/" + path; }
  // "docker.io/library/busybox:latest" or "docker.io/library/busybox@sha256:…"
  std::string String() const;
  // As Docker prints it: "busybox", "foo/bar", "localhost:5000/x".
  std::string FamiliarRepository() const;
  // "busybox:latest", "foo/bar@sha256:…"
  std::string FamiliarString() const;
};

// Parses and normalises `text`. A missing registry means docker.io (with "library/" for a
// one-component name), a missing tag and digest means ":latest", and a reference with both a
// tag and a digest keeps only the digest (it alone says which image). INVALID_ARGUMENT names
// the reference and what is wrong with it.
absl::StatusOr<Reference> ParseNormalized(absl::string_view text);

// ParseNormalized(text)->String().
absl::StatusOr<std::string> Normalize(absl::string_view text);

// An image loaded from an archive entry that names it nowhere is "dangling" (Docker's
// <none>:<none>). Its record is named for its target: "berth.invalid/dangling@sha256:<hex>".
// The .invalid domain (RFC 2606) names no registry, so such a name never collides with a real
// image's; it stays addressable by name, target digest and config digest (image ID).
inline constexpr char kDanglingRepository[] = "berth.invalid/dangling";
std::string DanglingName(absl::string_view target_digest);
bool IsDanglingName(absl::string_view name);

}  // namespace berth::images

#endif  // BERTH_SERVICES_IMAGES_REFERENCE_H_
