#include "common/user.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/safe_path.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth {
namespace {

constexpr size_t kMaxFile = 16 << 20;
constexpr int64_t kMaxId = 2147483647;

absl::StatusOr<absl::optional<std::string>> ReadInRoot(int root, const std::string& rel) {
  absl::StatusOr<UniqueFd> fd = OpenInRoot(root, rel, O_RDONLY);
  if (absl::IsNotFound(fd.status())) return absl::optional<std::string>();
  if (!fd.ok()) return fd.status();
  std::string data;
  char buf[8192];
  for (;;) {
    const ssize_t n = sys::RetryEintr([&] { return ::read(fd->get(), buf, sizeof(buf)); });
    if (n < 0) return ErrnoStatus(absl::StrCat("read(", rel, ")"), errno);
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxFile) {
      return absl::InvalidArgumentError(absl::StrCat(rel, " in the rootfs is too large"));
    }
  }
  return absl::optional<std::string>(std::move(data));
}

// Numeric ids as moby/sys/user reads them: a decimal number, nothing else.
absl::optional<int64_t> Number(absl::string_view s) {
  int64_t n = 0;
  if (s.empty() || !absl::SimpleAtoi(s, &n)) return absl::nullopt;
  return n;
}

struct PasswdEntry {
  std::string name, home;
  uint32_t uid = 0, gid = 0;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

template <typename Fn>
void ForEachLine(const absl::optional<std::string>& file, size_t min_fields, Fn fn) {
  if (!file) return;
  for (absl::string_view line : absl::StrSplit(*file, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, ':');
    if (f.size() < min_fields) continue;
    fn(f);
  }
}

// Entries with ids that are not numbers are skipped rather than read as 0.
std::vector<PasswdEntry> Passwd(const UserFiles& files) {
  std::vector<PasswdEntry> out;
  ForEachLine(files.passwd, 4, [&](const std::vector<absl::string_view>& f) {
    absl::optional<int64_t> uid = Number(f[2]), gid = Number(f[3]);
    if (!uid || !gid || *uid < 0 || *gid < 0 || *uid > kMaxId || *gid > kMaxId) return;
    out.push_back(PasswdEntry{std::string(f[0]), f.size() > 5 ? std::string(f[5]) : "",
                              static_cast<uint32_t>(*uid), static_cast<uint32_t>(*gid)});
  });
  return out;
}

std::vector<GroupEntry> Groups(const UserFiles& files) {
  std::vector<GroupEntry> out;
  ForEachLine(files.group, 3, [&](const std::vector<absl::string_view>& f) {
    absl::optional<int64_t> gid = Number(f[2]);
    if (!gid || *gid < 0 || *gid > kMaxId) return;
    GroupEntry g{std::string(f[0]), static_cast<uint32_t>(*gid), {}};
    if (f.size() > 3) g.members = absl::StrSplit(f[3], ',', absl::SkipEmpty());
    out.push_back(std::move(g));
  });
  return out;
}

absl::Status RangeError() {
  return absl::InvalidArgumentError("uids and gids must be in range 0-2147483647");
}

}  // namespace

absl::StatusOr<UserFiles> ReadUserFiles(const std::string& rootfs) {
  ASSIGN_OR_RETURN(UniqueFd root, sys::Open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC));
  UserFiles files;
  ASSIGN_OR_RETURN(files.passwd, ReadInRoot(root.get(), "/etc/passwd"));
  ASSIGN_OR_RETURN(files.group, ReadInRoot(root.get(), "/etc/group"));
  return files;
}

absl::StatusOr<ExecUser> ResolveUser(absl::string_view spec, const UserFiles& files) {
  ExecUser user;
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(spec, absl::MaxSplits(':', 1));
  const absl::string_view user_arg = parts.first, group_arg = parts.second;
  const absl::optional<int64_t> uid_arg = Number(user_arg), gid_arg = Number(group_arg);

  // The user: by uid if numeric (an unknown uid is fine), by name otherwise; "" is uid 0.
  const PasswdEntry* match = nullptr;
  const std::vector<PasswdEntry> passwd = Passwd(files);
  for (const PasswdEntry& e : passwd) {
    const bool hit = user_arg.empty() ? e.uid == 0
                     : uid_arg        ? static_cast<int64_t>(e.uid) == *uid_arg
                                      : e.name == user_arg;
    if (hit) {
      match = &e;
      break;
    }
  }
  if (match != nullptr) {
    user.uid = match->uid;
    user.gid = match->gid;
    if (!match->home.empty()) user.home = match->home;
  } else if (!user_arg.empty()) {
    if (!uid_arg) {
      return absl::InvalidArgumentError(
          absl::StrCat("unable to find user ", user_arg, ": no matching entries in passwd file"));
    }
    if (*uid_arg < 0 || *uid_arg > kMaxId) return RangeError();
    user.uid = static_cast<uint32_t>(*uid_arg);
  }

  // The group: explicit (by gid or name), or else the named user's supplementary groups.
  if (!group_arg.empty()) {
    const std::vector<GroupEntry> groups = Groups(files);
    bool found = false;
    for (const GroupEntry& g : groups) {
      if (gid_arg ? static_cast<int64_t>(g.gid) == *gid_arg : g.name == group_arg) {
        user.gid = g.gid;
        found = true;
        break;
      }
    }
    if (!found) {
      if (!gid_arg) {
        return absl::InvalidArgumentError(absl::StrCat("unable to find group ", group_arg,
                                                       ": no matching entries in group file"));
      }
      if (*gid_arg < 0 || *gid_arg > kMaxId) return RangeError();
      user.gid = static_cast<uint32_t>(*gid_arg);
    }
  } else if (match != nullptr) {
    for (const GroupEntry& g : Groups(files)) {
      for (const std::string& m : g.members) {
        if (m == match->name) {
          user.additional_gids.push_back(g.gid);
          break;
        }
      }
    }
  }
  return user;
}

}  // namespace berth
