// `run`/`create` → the OCI runtime spec (config.json) that berth-runtime, runc and crun take,
// and the labels of the container record. Built from the image's config and Docker's flags,
// with Docker's defaults: its capability set, mounts, masked and read-only paths, and
// environment.
//
// Decisions where berth differs from Docker or the host forces a choice:
// - RLIMIT_NOFILE is 1024 soft / 1048576 hard, as containerd's default, but never above the
//   hard limit of the process building the spec (HostFacts::nofile_hard): nothing on this
//   host can raise its own hard limit (20000 here, no CAP_SYS_RESOURCE), and berth-runtime
//   refuses a spec asking for more. The CLI runs where the daemon does, with the same limits.
// - "ALL" and --privileged grant the capabilities of this host's bounding set
//   (HostFacts::capability_bounding), not every one Linux names: berth-runtime refuses to
//   grant a capability it does not hold itself (here CAP_SYS_RESOURCE).
// - noNewPrivileges is on unless ContainerOptions::no_new_privileges is cleared (DESIGN's
//   security baseline; Docker leaves it off unless --security-opt no-new-privileges).
// - The default seccomp profile is berth's own with Docker's semantics (seccomp_default.h);
//   --privileged and --security-opt seccomp=unconfined drop it, seccomp=FILE replaces it.
// - --privileged allows every device in the cgroup, but does not copy the host's /dev nodes
//   into the container as Docker does.
// - HOME is set from the user's passwd entry (or "/") when the environment has none: runc
//   does this at exec time, berth-runtime does not.
#ifndef BERTH_CTL_CONTAINER_SPEC_H_
#define BERTH_CTL_CONTAINER_SPEC_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "ctl/container/env.h"
#include "ctl/container/restart_policy.h"

namespace berth::ctl {

// What the host allows the container, read from the process building the spec.
struct HostFacts {
  uint64_t nofile_hard = 1048576;        // RLIMIT_NOFILE hard limit
  uint64_t capability_bounding = ~0ULL;  // CapBnd from /proc/self/status
  int cpus = 1;                          // CPUs this process may run on

  static HostFacts Current();
};

// Docker's run/create flags that shape the container.
struct ContainerOptions {
  std::string id;              // the container id (64 hex); the default hostname
  std::string ns = "default";  // berth namespace, for linux.cgroupsPath
  std::string rootfs;          // where the image's files are, for --user names; may be ""

  std::vector<std::string> args;              // COMMAND ARG…: replaces the image's Cmd
  absl::optional<std::string> entrypoint;     // --entrypoint; "" clears the image's
  std::vector<std::string> env;               // -e K=V or -e K
  std::vector<std::string> env_files;         // --env-file paths, read before -e applies
  EnvLookup lookup_env;                       // the caller's environment; unset = this process's
  std::string workdir;                        // -w
  absl::optional<std::string> user;           // -u uid[:gid] or names
  std::string hostname;                       // -h
  std::map<std::string, std::string> labels;  // -l, on the container record
  bool read_only = false;                     // --read-only
  bool privileged = false;                    // --privileged
  bool tty = false;                           // -t
  bool auto_remove = false;                   // --rm (conflicts with --restart)
  bool no_new_privileges = true;              // unless --security-opt no-new-privileges=false
  // --security-opt, as Docker: seccomp=unconfined|FILE, no-new-privileges[=true|false],
  // systempaths=unconfined, apparmor=PROFILE|unconfined, label=disable ("=" or ":").
  std::vector<std::string> security_opt;
  std::vector<std::string> cap_add, cap_drop;
  std::string stop_signal;             // --stop-signal; "" = the image's, else SIGTERM
  absl::optional<int> stop_timeout;    // --stop-timeout seconds
  RestartPolicy restart;               // --restart
  std::vector<std::string> tmpfs;      // --tmpfs /path[:opts]
  std::string memory;                  // -m, e.g. "512m"; "" = no limit
  std::string cpus;                    // --cpus, e.g. "1.5"; "" = no limit
  absl::optional<int64_t> pids_limit;  // --pids-limit; <= 0 = no limit
};

// `image_config` is the image's config blob (the OCI image config document, or just its
// "config" object; null for none). INVALID_ARGUMENT for bad flags, naming them, and
// "no command specified" when neither the flags nor the image give a command.
absl::StatusOr<nlohmann::json> BuildSpec(const nlohmann::json& image_config,
                                         const ContainerOptions& options, const HostFacts& host);

// The container record's labels: the image's Labels, then -l, then berth's own
// (labels.h): restart policy (always, "no" included), stop signal (from the flag or the image, by
// name), stop timeout. berth's keys win over the user's.
absl::StatusOr<std::map<std::string, std::string>> ContainerLabels(
    const nlohmann::json& image_config, const ContainerOptions& options);

// Docker's and containerd's default masked and read-only /proc and /sys paths.
const std::vector<std::string>& DefaultMaskedPaths();
const std::vector<std::string>& DefaultReadonlyPaths();

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_SPEC_H_
