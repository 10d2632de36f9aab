#ifndef BERTH_RUNTIME_CLI_INTROSPECT_H_
#define BERTH_RUNTIME_CLI_INTROSPECT_H_

#include <nlohmann/json.hpp>
#include <string>

namespace berth::runtime::cli {

// The runtime-spec "features" document for this build.
nlohmann::json Features();

// runc's `events --stats` data object, from a cgroup v2 directory. Statistics whose files the
// hierarchy lacks (memory and pids on a hybrid host) are absent, not zero.
nlohmann::json CgroupStats(const std::string& cgroup_dir);

}  // namespace berth::runtime::cli

#endif  // BERTH_RUNTIME_CLI_INTROSPECT_H_
