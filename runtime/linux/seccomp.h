// linux.seccomp → a BPF program. Compiled (and so checked) by berth-runtime before the
// container exists; loaded by the container process just before it execs.
#ifndef BERTH_RUNTIME_LINUX_SECCOMP_H_
#define BERTH_RUNTIME_LINUX_SECCOMP_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::runtime {

class SeccompFilter {
 public:
  // Parses the "linux.seccomp" object of a config.json (raw JSON of the whole spec) and
  // compiles it to a BPF program. Returns null when the spec has none. Errors name the field;
  // syscall names this libseccomp does not know are skipped (logged at debug), as runc does,
  // so one profile serves many kernels.
  //
  // Compiling a profile the size of Docker's takes libseccomp several milliseconds, on every
  // container start. With a `cache_dir`, the program is kept there under the profile's hash,
  // beside the profile itself, and the next container with the same profile reads it back
  // (the stored profile must equal this one byte for byte, so a hash collision is only a
  // miss). A cache that cannot be read or written is only slower, never an error.
  static absl::StatusOr<std::unique_ptr<SeccompFilter>> FromSpec(const std::string& spec_json,
                                                                 const std::string& cache_dir = "");

  // Installs the filter on the calling thread. Without no_new_privs this needs CAP_SYS_ADMIN,
  // so callers load it before dropping privileges in that case (see linux/process.cc).
  absl::Status Load() const;
  int rules() const { return rules_; }
  bool from_cache() const { return from_cache_; }
  const std::string& program() const { return program_; }  // struct sock_filter[]

 private:
  SeccompFilter() = default;
  static absl::StatusOr<std::unique_ptr<SeccompFilter>> Compile(const nlohmann::json& profile);
  // Null when `file` is absent, damaged or holds another key.
  static std::unique_ptr<SeccompFilter> ReadCached(const std::string& file, absl::string_view key);
  void WriteCached(const std::string& dir, const std::string& file, absl::string_view key) const;

  std::string program_;  // struct sock_filter[]
  uint32_t flags_ = 0;   // SECCOMP_FILTER_FLAG_*
  int rules_ = 0;
  bool from_cache_ = false;
};

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_SECCOMP_H_
