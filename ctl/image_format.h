// How `berth images` prints what it shows, the way Docker's CLI prints it.
#ifndef BERTH_CTL_IMAGE_FORMAT_H_
#define BERTH_CTL_IMAGE_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace berth::ctl {

// "4.26MB": decimal units, three significant digits (go-units HumanSizeWithPrecision).
std::string HumanSize(int64_t bytes);

// "2 hours", "About a minute", "3 weeks" (go-units HumanDuration).
std::string HumanDuration(absl::Duration d);

struct RepoTag {
  std::string repository;  // familiar: "busybox", "foo/bar", "localhost:5000/x"
  std::string tag;         // "latest", or "<none>" for a digest reference
  std::string digest;      // "sha256:…" for a digest reference
  bool dangling = false;   // an image without a name: "<none>", "<none>", no digest
};

// The daemon's name for an image loaded without one (services/images/reference.h):
// "berth.invalid/dangling@sha256:<target>". Shown as Docker shows it: <none>:<none>.
bool IsDangling(const std::string& name);

// Splits a normalised name ("docker.io/library/busybox:latest") into its familiar parts.
RepoTag SplitName(const std::string& name);

// "busybox:latest" for a tagged name, "busybox@sha256:…" for a digest reference,
// "<none>:<none>" for a dangling image.
std::string FamiliarName(const std::string& name);

// The 12 hex digits Docker shows for "sha256:<hex>" (everything, with --no-trunc).
std::string ShortId(const std::string& digest, bool no_trunc);

}  // namespace berth::ctl

#endif  // BERTH_CTL_IMAGE_FORMAT_H_
