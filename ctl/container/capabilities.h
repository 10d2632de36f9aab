// `--cap-add`, `--cap-drop` and `--privileged` on top of Docker's default capability set. The
// names themselves (and CapabilitiesInMask, what "ALL" and --privileged grant) are
// common/capabilities.h.
#ifndef BERTH_CTL_CONTAINER_CAPABILITIES_H_
#define BERTH_CTL_CONTAINER_CAPABILITIES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::ctl {

// Docker's default set (moby oci/caps/defaults.go), in its order: CHOWN, DAC_OVERRIDE,
// FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE,
// SYS_CHROOT, KILL, AUDIT_WRITE.
const std::vector<std::string>& DefaultCapabilities();

// Docker's TweakCapabilities: drops from `base` then adds, or with "ALL" in --cap-add every
// capability of `all` but the dropped ones, or with "ALL" in --cap-drop only the added ones.
// `all` is what this host's processes can hold (CapabilitiesInMask of CapBnd), as with
// containerd's "all current capabilities", since berth-runtime refuses to grant more.
// Names are case-insensitive, with or without "CAP_"; an unknown one is INVALID_ARGUMENT
// ("unknown capability: \"CAP_FOO\""). The result has no duplicates.
absl::StatusOr<std::vector<std::string>> TweakCapabilities(const std::vector<std::string>& base,
                                                           const std::vector<std::string>& add,
                                                           const std::vector<std::string>& drop,
                                                           const std::vector<std::string>& all);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_CAPABILITIES_H_
