// Container ids and names: 64-hex ids from /dev/urandom, Docker-style generated names
// ("brisk_noether"), and the rule user-chosen names must follow.
#ifndef BERTH_CTL_CONTAINER_NAMES_H_
#define BERTH_CTL_CONTAINER_NAMES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::ctl {

// 64 lowercase hex digits from 32 bytes of /dev/urandom. Like Docker, an id whose first 12
// digits are all decimal is drawn again, so a short id never reads as a number.
absl::StatusOr<std::string> NewContainerId();

// Whether `id` is a full id: exactly 64 lowercase hex digits.
bool IsContainerId(absl::string_view id);

// The first 12 digits, as `ps` shows and as the default hostname.
std::string ShortContainerId(absl::string_view id);

// "adjective_surname" picked by `random`; with retry > 0 a digit is appended
// ("brisk_noether7"), as Docker does when the first name it tried was taken.
std::string GenerateName(uint64_t random, int retry = 0);

// GenerateName with a value from /dev/urandom.
absl::StatusOr<std::string> RandomName(int retry = 0);

// Checks a user-given name against Docker's rule, /?[a-zA-Z0-9][a-zA-Z0-9_.-]+, and returns it
// without the optional leading "/". INVALID_ARGUMENT with Docker's message otherwise.
absl::StatusOr<std::string> ValidateName(absl::string_view name);

// How many words GenerateName picks from (for tests).
size_t NameAdjectiveCount();
size_t NameSurnameCount();

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_NAMES_H_
