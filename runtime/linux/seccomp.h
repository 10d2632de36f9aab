// linux.seccomp → a libseccomp filter. Built (and so checked) by berth-runtime before the
// container exists; loaded by the container process just before it execs.
#ifndef BERTH_RUNTIME_LINUX_SECCOMP_H_
#define BERTH_RUNTIME_LINUX_SECCOMP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace berth::runtime {

class SeccompFilter {
 public:
  // Parses the "linux.seccomp" object of a config.json (raw JSON of the whole spec). Returns
  // null when the spec has none. Errors name the field; syscall names this libseccomp does
  // not know are skipped (logged at debug), as runc does, so one profile serves many kernels.
  static absl::StatusOr<std::unique_ptr<SeccompFilter>> FromSpec(const std::string& spec_json);
  ~SeccompFilter();

  // Installs the filter on the calling thread. Without no_new_privs this needs CAP_SYS_ADMIN,
  // so callers load it before dropping privileges in that case (see linux/process.cc).
  absl::Status Load() const;
  int rules() const { return rules_; }

 private:
  SeccompFilter() = default;
  void* ctx_ = nullptr;  // scmp_filter_ctx
  int rules_ = 0;
};

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_SECCOMP_H_
