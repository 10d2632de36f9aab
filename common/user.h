// `--user` / the image's USER: "uid[:gid]" or names looked up in the container's own
// /etc/passwd and /etc/group, with runc's (moby/sys/user) rules.
#ifndef BERTH_COMMON_USER_H_
#define BERTH_COMMON_USER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace berth {

// The container's passwd and group files; absent when the rootfs has none (or none is known).
struct UserFiles {
  absl::optional<std::string> passwd;
  absl::optional<std::string> group;
};

// Reads etc/passwd and etc/group of a rootfs, resolving symlinks inside it (openat2
// RESOLVE_IN_ROOT), so an image cannot point the lookup at the host's files. A missing file is
// absent, not an error.
absl::StatusOr<UserFiles> ReadUserFiles(const std::string& rootfs);

struct ExecUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  // The groups listing the user by name, when the group was not given explicitly.
  std::vector<uint32_t> additional_gids;
  std::string home = "/";  // for HOME when the environment has none
};

// "" (root), "1000", "1000:1000", "app", "app:staff", "app:50", ":50"… Numbers need no entry;
// names do: "unable to find user app: no matching entries in passwd file", "unable to find
// group staff: no matching entries in group file" (INVALID_ARGUMENT). Ids are 0-2147483647.
absl::StatusOr<ExecUser> ResolveUser(absl::string_view spec, const UserFiles& files);

}  // namespace berth

#endif  // BERTH_COMMON_USER_H_
