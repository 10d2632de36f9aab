// berth's default seccomp profile: the linux.seccomp object a container gets unless it is
// --privileged or asks for --security-opt seccomp=unconfined. It has Docker's semantics,
// written out here from the syscall lists rather than copied:
//
// - deny by default with EPERM; allow what ordinary programs use (files, sockets, memory,
//   signals, timers, IPC, threads, the usual process calls);
// - clone only without namespace flags, clone3 answered with ENOSYS so that libc falls back
//   to clone (whose flags a filter can see); personality only for the harmless personas;
// - never: the kernel keyring (add_key, keyctl, request_key), kexec_load and
//   kexec_file_load, module loading and obsolete calls (create_module, uselib, ustat, nfsservctl,
//   vm86, sysfs, _sysctl), userfaultfd, swapon/swapoff, io_uring;
// - calls a capability already guards are allowed when the container holds that capability,
//   so --cap-add widens the profile as it does in Docker: CAP_SYS_ADMIN gives mount, umount,
//   unshare, setns, pivot_root, the new mount API, sethostname, clone with namespace flags and
//   clone3…; CAP_SYS_MODULE gives init_module; CAP_SYS_TIME settimeofday; CAP_SYS_BOOT reboot;
//   CAP_SYS_PTRACE kcmp and pidfd_getfd; CAP_SYS_RAWIO iopl and ioperm; CAP_SYS_NICE the NUMA
//   policy calls; CAP_SYSLOG syslog; CAP_BPF bpf; CAP_PERFMON perf_event_open;
//   CAP_DAC_READ_SEARCH open_by_handle_at; CAP_SYS_PACCT acct; CAP_SYS_TTY_CONFIG vhangup.
#ifndef BERTH_CTL_CONTAINER_SECCOMP_DEFAULT_H_
#define BERTH_CTL_CONTAINER_SECCOMP_DEFAULT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::ctl {

// The profile for a container holding `capabilities` ("CAP_CHOWN", …), as an OCI
// linux.seccomp object for this machine's architectures.
nlohmann::json DefaultSeccompProfile(const std::vector<std::string>& capabilities);

// A profile file given with --security-opt seccomp=FILE, as an OCI linux.seccomp object. It
// may be in the OCI form, or in Docker's (what `docker run` takes): "archMap" becomes this
// machine's "architectures", each rule's "includes"/"excludes" (caps, arches) decide whether
// it applies to this container and machine, "name" joins "names", and Docker-only keys go.
// INVALID_ARGUMENT names what is wrong.
absl::StatusOr<nlohmann::json> SeccompProfileFromFile(const nlohmann::json& profile,
                                                      const std::vector<std::string>& capabilities);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_SECCOMP_DEFAULT_H_
