// The OCI runtime-spec config.json, parsed into typed structs and validated. Only what the
// runtime acts on is kept; every field it acts on is checked here, so that setup code can
// trust what it is given.
#ifndef BERTH_RUNTIME_SPEC_H_
#define BERTH_RUNTIME_SPEC_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::runtime {

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Rlimit {
  std::string type;  // RLIMIT_NOFILE, …
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
};

// process.scheduler (runtime-spec 1.2): sched_setattr(2) fields.
struct Scheduler {
  std::string policy;  // SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE
  int32_t nice = 0;
  int32_t priority = 0;
  std::vector<std::string> flags;
  uint64_t runtime = 0, deadline = 0, period = 0;
};

// process.ioPriority: ioprio_set(2).
struct IoPriority {
  std::string io_class;  // IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE
  int32_t priority = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int> oom_score_adj;
  std::string selinux_label;
  std::optional<Scheduler> scheduler;
  std::optional<IoPriority> io_priority;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct Namespace {
  std::string type;  // pid, network, mount, ipc, uts, user, cgroup, time
  std::string path;  // join this one instead of creating one
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Device {
  std::string path;
  std::string type;  // c, b, u, p
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceRule {
  bool allow = false;
  std::string type;  // a, c, b
  std::optional<int64_t> major, minor;
  std::string access;  // some of r, w, m
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
};

struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};

struct HugepageLimit {
  std::string page_size;  // "2MB"
  uint64_t limit = 0;
};

// linux.resources. Every optional that is set is a limit the runtime must enforce or refuse.
struct Resources {
  std::vector<DeviceRule> devices;
  struct Memory {
    std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
    std::optional<uint64_t> swappiness;
    std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
  };
  std::optional<Memory> memory;
  struct Cpu {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota;
    std::optional<uint64_t> period;
    std::optional<int64_t> realtime_runtime;
    std::optional<uint64_t> realtime_period;
    std::string cpus, mems;
    std::optional<int64_t> idle;
  };
  std::optional<Cpu> cpu;
  std::optional<int64_t> pids_limit;
  struct BlockIo {
    std::optional<uint16_t> weight, leaf_weight;
    std::vector<WeightDevice> weight_device;
    std::vector<ThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops,
        throttle_write_iops;
  };
  std::optional<BlockIo> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::map<std::string, std::string> unified;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct Seccomp;  // runtime/seccomp (part 2) parses linux.seccomp itself from the raw JSON.

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::string rootfs_propagation;
  std::vector<std::string> masked_paths, readonly_paths;
  std::map<std::string, std::string> sysctl;
  std::string mount_label;
  bool has_seccomp = false;
  std::map<std::string, int64_t> time_offsets_secs;  // "monotonic"/"boottime" → seconds
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  std::string root_path;
  bool root_readonly = false;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  Linux linux;
  std::string raw_json;  // the document as read, for parts parsed elsewhere (seccomp)

  bool HasNamespace(const std::string& type) const;
  const Namespace* FindNamespace(const std::string& type) const;
};

// Parses and validates a config.json document. Errors name the field ("linux.namespaces[2]
// .type: unknown namespace type \"pidd\"").
absl::StatusOr<Spec> ParseSpec(const std::string& json);
// Parses just a "process" object (for `exec --process`).
absl::StatusOr<Process> ParseProcess(const std::string& json);

// Parses a linux.resources object (for `update --resources`).
absl::StatusOr<Resources> ParseResources(const std::string& json);

// A default config.json, as `berth-runtime spec` writes it.
std::string DefaultSpecJson();

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_SPEC_H_
