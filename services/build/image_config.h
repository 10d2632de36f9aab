// The image config document a build writes, in Docker's shape (OCI image config plus Docker's
// fields): architecture, os, config {Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts,
// Volumes, Labels, StopSignal, Shell, Healthcheck, OnBuild}, rootfs.diff_ids, history and
// created. nlohmann-json keeps object keys sorted, so the same build gives the same bytes.
#ifndef BERTH_SERVICES_BUILD_IMAGE_CONFIG_H_
#define BERTH_SERVICES_BUILD_IMAGE_CONFIG_H_

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace berth::build {

using Json = nlohmann::json;

inline constexpr char kDefaultPathEnv[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// FROM scratch: no layers, PATH set (as BuildKit does).
Json ScratchConfig(const std::string& os, const std::string& architecture);

// A base image's config as the start of a new one: container-specific leftovers
// (container, container_config, docker_version) go.
Json ConfigFromBase(Json base);

// The "config" object, created when missing.
Json& RunConfig(Json& doc);

std::vector<std::string> StringList(const Json& cfg, const char* key);
// The Env entries as a map (later entries win).
std::map<std::string, std::string> EnvMap(const Json& cfg);
// Sets NAME=VALUE in Env, in place of an existing NAME.
void SetEnv(Json& cfg, const std::string& name, const std::string& value);

// Appends a history entry ("created_by" as Docker shows it in `history`).
void AddHistory(Json& doc, const std::string& created_by, absl::Time created, bool empty_layer);
void AddDiffId(Json& doc, const std::string& diff_id);
std::vector<std::string> DiffIds(const Json& doc);

// RFC 3339 with nanoseconds, UTC, as Go writes it ("2024-05-01T10:00:00.123456789Z").
std::string Rfc3339(absl::Time t);
absl::optional<absl::Time> ParseRfc3339(const std::string& s);

// EXPOSE: "80", "80/tcp", "53/udp", "8000-8002/tcp" → "80/tcp"… INVALID_ARGUMENT otherwise.
absl::StatusOr<std::vector<std::string>> ParsePorts(const std::string& spec);

// HEALTHCHECK --interval etc.: Go durations ("30s", "1m30s"); INVALID_ARGUMENT otherwise.
absl::StatusOr<int64_t> ParseDurationNanos(const std::string& flag, const std::string& value);

}  // namespace berth::build

#endif  // BERTH_SERVICES_BUILD_IMAGE_CONFIG_H_
