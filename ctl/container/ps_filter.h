// `ps --filter KEY=VALUE`: Docker's keys id, name, label, status, ancestor and exited. Values of
// one key are alternatives (OR); different keys must all match (AND).
#ifndef BERTH_CTL_CONTAINER_PS_FILTER_H_
#define BERTH_CTL_CONTAINER_PS_FILTER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ctl/container/format.h"

namespace berth::ctl {

// What a filter looks at in one container.
struct PsCandidate {
  std::string id;
  std::string name;
  std::string image;     // as recorded: "docker.io/library/busybox:latest"
  std::string image_id;  // the image's config digest "sha256:…"; may be empty
  std::map<std::string, std::string> labels;
  ContainerStatus status = ContainerStatus::kCreated;
  int exit_code = 0;
};

class PsFilter {
 public:
  // Each argument is KEY=VALUE. INVALID_ARGUMENT with Docker's messages: "bad format of
  // filter (expected name=value)", "invalid filter 'foo'", "invalid filter 'status=up'",
  // "invalid filter 'exited=x'", and for a regular expression that does not compile.
  static absl::StatusOr<PsFilter> Parse(const std::vector<std::string>& args);

  bool Match(const PsCandidate& c) const;

  // A status or exited filter lists stopped containers without -a, as Docker's does.
  bool ImpliesAll() const { return values_.count("status") > 0 || values_.count("exited") > 0; }
  bool empty() const { return values_.empty(); }

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

// Whether `ref` (as a user types it: "busybox", "busybox:1", "sha256:abc…", "abc…") names the
// image `image` (a normalised name) whose config digest is `image_id`.
bool ImageMatches(const std::string& ref, const std::string& image, const std::string& image_id);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_PS_FILTER_H_
