// linux.resources.devices on cgroup v2: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE,
// attached to the container's cgroup, that answers every device access the way the rules say
// (the last matching rule wins; no match: the default). Like runc, the runtime adds allow
// rules for the devices every container gets (null, zero, full, random, urandom, tty, ptmx,
// the pts devices) and for the spec's linux.devices, after the spec's own rules.
#ifndef BERTH_RUNTIME_LINUX_DEVICE_FILTER_H_
#define BERTH_RUNTIME_LINUX_DEVICE_FILTER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/spec.h"

struct bpf_insn;

namespace berth::runtime {

// The spec's rules followed by the runtime's own allow rules.
std::vector<DeviceRule> EffectiveDeviceRules(const Resources* resources,
                                             const std::vector<Device>& devices);

// The program for `rules` (empty rules: no program is needed; callers skip it).
absl::StatusOr<std::vector<bpf_insn>> CompileDeviceFilter(const std::vector<DeviceRule>& rules);

// Loads the program and attaches it to the cgroup directory `cgroup_fd`.
absl::Status AttachDeviceFilter(int cgroup_fd, const std::vector<DeviceRule>& rules);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_DEVICE_FILTER_H_
