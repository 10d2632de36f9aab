// An OCI bundle for tests: a rootfs made of Debian's static busybox (with its applets as
// symlinks) and berth-runtime's default spec, adjustable before it is written.
#ifndef BERTH_E2E_HARNESS_BUNDLE_H_
#define BERTH_E2E_HARNESS_BUNDLE_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth::e2e {

class BusyboxBundle {
 public:
  // Creates <dir>/rootfs and a spec that runs `args` without a terminal.
  BusyboxBundle(const std::string& dir, const std::vector<std::string>& args);

  nlohmann::json& spec() { return spec_; }
  const std::string& dir() const { return dir_; }
  std::string rootfs() const { return dir_ + "/rootfs"; }
  // Writes config.json; call after changing spec().
  void Write() const;

 private:
  std::string dir_;
  nlohmann::json spec_;
};

// The path of Debian's busybox-static binary.
inline constexpr char kBusybox[] = "/bin/busybox";

}  // namespace berth::e2e

#endif  // BERTH_E2E_HARNESS_BUNDLE_H_
