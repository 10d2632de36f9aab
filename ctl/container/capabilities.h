// `--cap-add`, `--cap-drop` and `--privileged` on top of Docker's default capability set.
#ifndef BERTH_CTL_CONTAINER_CAPABILITIES_H_
#define BERTH_CTL_CONTAINER_CAPABILITIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::ctl {

// Docker's default set (moby oci/caps/defaults.go), in its order: CHOWN, DAC_OVERRIDE,
// FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE,
// SYS_CHROOT, KILL, AUDIT_WRITE.
const std::vector<std::string>& DefaultCapabilities();

// Every capability name Linux defines, CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40).
const std::vector<std::string>& KnownCapabilities();

// The known capabilities whose bit is set in `mask` (a CapBnd value), in number order: what
// "ALL" and --privileged grant. Like containerd's "all current capabilities", it is limited
// to what this host's processes can hold, since berth-runtime refuses to grant more.
std::vector<std::string> CapabilitiesInMask(uint64_t mask);

// Docker's TweakCapabilities: drops from `base` then adds, or with "ALL" in --cap-add every
// capability of `all` but the dropped ones, or with "ALL" in --cap-drop only the added ones.
// Names are case-insensitive, with or without "CAP_"; an unknown one is INVALID_ARGUMENT
// ("unknown capability: \"CAP_FOO\""). The result has no duplicates.
absl::StatusOr<std::vector<std::string>> TweakCapabilities(const std::vector<std::string>& base,
                                                           const std::vector<std::string>& add,
                                                           const std::vector<std::string>& drop,
                                                           const std::vector<std::string>& all);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_CAPABILITIES_H_
