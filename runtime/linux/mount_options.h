// OCI mount "options" → mount(2) flags, propagation flags and the filesystem data string.
#ifndef BERTH_RUNTIME_LINUX_MOUNT_OPTIONS_H_
#define BERTH_RUNTIME_LINUX_MOUNT_OPTIONS_H_

#include <string>
#include <vector>

namespace berth::runtime {

struct MountOptions {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC, …
  unsigned long clear = 0;        // flags an option explicitly turned off ("rw", "suid", …)
  unsigned long propagation = 0;  // MS_PRIVATE / MS_SHARED / MS_SLAVE / MS_UNBINDABLE, | MS_REC
  std::string data;               // the rest, comma-joined, for the filesystem
  bool bind() const;
};

MountOptions ParseMountOptions(const std::vector<std::string>& options);

// The propagation flags for rootfsPropagation ("rslave" → MS_SLAVE | MS_REC); 0 if empty.
unsigned long PropagationFlags(const std::string& name);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_MOUNT_OPTIONS_H_
