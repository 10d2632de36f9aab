// cgroup v2 for one container: find the unified hierarchy, create the container's cgroup,
// enable the controllers its limits need, write the limits (with runc's conversions from the
// OCI v1-style fields), freeze, kill and remove it.
//
// Everything works on a tree rooted at a given directory, so unit tests run it against a fake
// cgroupfs made of plain files. Nothing here ever touches a cgroup v1 hierarchy: the root is the
// cgroup2 mount found in /proc/self/mountinfo, and paths never leave it.
#ifndef BERTH_RUNTIME_CGROUP_H_
#define BERTH_RUNTIME_CGROUP_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "runtime/spec.h"

namespace berth::runtime {

// The mount point of the cgroup2 filesystem, from a /proc/self/mountinfo text. NOT_FOUND when
// there is none.
absl::StatusOr<std::string> FindCgroup2Mount(const std::string& mountinfo);
// The same, reading this process's mountinfo.
absl::StatusOr<std::string> FindCgroup2Mount();

// The files and values that `resources` turns into, in the order they are written, e.g.
// {"memory.max", "1048576"}. Conversions follow runc (cpu.shares → cpu.weight, blkio weight →
// io.weight, memory+swap → memory.swap.max). Errors name the OCI field.
struct CgroupWrite {
  std::string file;
  std::string value;
  std::string controller;  // the controller that must be enabled for `file`
  std::string field;       // the OCI field it came from, for messages
  // The value is what the kernel uses anyway (cpu.shares 1024 → cpu.weight 100): where the
  // controller is missing, skipping it changes nothing, so it is skipped rather than refused.
  bool kernel_default = false;
};
absl::StatusOr<std::vector<CgroupWrite>> ConvertResources(const Resources& resources);

class Cgroup {
 public:
  // `mount` is the cgroup2 root; `path` is cgroupsPath, which is taken relative to it.
  static absl::StatusOr<Cgroup> Open(const std::string& mount, const std::string& path);

  const std::string& dir() const { return dir_; }  // absolute directory of this cgroup
  const std::string& mount() const { return mount_; }

  // Creates the cgroup (and its parents), enables the controllers that `writes` need all the
  // way down, and writes them. A controller the hierarchy does not offer is an error naming
  // it and the field that asked for it; nothing is left behind on error.
  absl::Status Create(const std::vector<CgroupWrite>& writes);
  absl::Status Apply(const std::vector<CgroupWrite>& writes);
  // An O_PATH|O_DIRECTORY fd of the cgroup, for clone3(CLONE_INTO_CGROUP).
  absl::StatusOr<UniqueFd> OpenDir() const;

  absl::Status AddProcess(pid_t pid);
  absl::StatusOr<std::vector<pid_t>> Procs() const;
  absl::Status Freeze(bool frozen);
  absl::StatusOr<bool> Frozen() const;
  // Kills every process in the cgroup: cgroup.kill where the kernel has it, else SIGKILL to
  // each pid in cgroup.procs until it is empty.
  absl::Status KillAll();
  // Removes the cgroup directory, waiting briefly for its processes to be gone. Parents that
  // this runtime created and that are now empty are left: other containers may share them.
  absl::Status Remove();
  bool Exists() const;

 private:
  Cgroup(std::string mount, std::string dir) : mount_(std::move(mount)), dir_(std::move(dir)) {}
  // The writes that apply here: all of them, less kernel defaults for missing controllers;
  // an error naming the field for any other write whose controller is missing.
  absl::StatusOr<std::vector<CgroupWrite>> Applicable(const std::vector<CgroupWrite>& writes) const;
  absl::Status EnableControllers(const std::vector<CgroupWrite>& writes);

  std::string mount_;
  std::string dir_;
};

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_CGROUP_H_
