#include "runtime/linux/mount_options.h"

#include <sys/mount.h>

#include <cstring>

namespace berth::runtime {
namespace {

struct Flag {
  const char* name;
  bool clear;  // the option turns the flag off
  unsigned long flag;
};

constexpr Flag kFlags[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"atime", true, MS_NOATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"diratime", true, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
#ifdef MS_NOSYMFOLLOW
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
#endif
};

struct Propagation {
  const char* name;
  unsigned long flags;
};

constexpr Propagation kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

}  // namespace

bool MountOptions::bind() const { return (flags & MS_BIND) != 0; }

unsigned long PropagationFlags(const std::string& name) {
  for (const Propagation& p : kPropagation) {
    if (name == p.name) return p.flags;
  }
  return 0;
}

MountOptions ParseMountOptions(const std::vector<std::string>& options) {
  MountOptions m;
  for (const std::string& o : options) {
    bool known = false;
    for (const Flag& f : kFlags) {
      if (o != f.name) continue;
      known = true;
      if (f.clear) {
        m.flags &= ~f.flag;
        m.clear |= f.flag;
      } else {
        m.flags |= f.flag;
        m.clear &= ~f.flag;
      }
    }
    if (unsigned long p = PropagationFlags(o); p != 0) {
      m.propagation = p;
      known = true;
    }
    if (!known) {
      if (!m.data.empty()) m.data += ",";
      m.data += o;
    }
  }
  return m;
}

}  // namespace berth::runtime
