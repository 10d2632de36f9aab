// clone3(2) without a glibc wrapper: fork-like (no new stack), optionally straight into a
// cgroup, so that the child is never outside it, not even for an instant.
#ifndef BERTH_RUNTIME_LINUX_CLONE_H_
#define BERTH_RUNTIME_LINUX_CLONE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace berth::runtime {

// Returns 0 in the child, the child's pid in the parent, -1 with errno on failure. With
// cgroup_fd < 0 the child starts in the caller's cgroup. Falls back to the plain flags when
// the kernel lacks CLONE_INTO_CGROUP (the caller must then add the child to the cgroup).
pid_t Clone3(uint64_t flags, int cgroup_fd, bool* into_cgroup);

struct NamespaceKind {
  const char* spec_name;  // "network"
  const char* proc_name;  // "net" (/proc/<pid>/ns/net)
  int flag;               // CLONE_NEWNET
};
// In the order namespaces must be joined: user first (it grants the rights for the rest),
// mount last (it changes the root).
const NamespaceKind* NamespaceKinds(size_t* count);
const NamespaceKind* FindNamespaceKind(const std::string& spec_name);

// Resets what a forked child inherits but a container must not: blocked signals and ignored
// or caught dispositions.
void ResetSignals();

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_CLONE_H_
