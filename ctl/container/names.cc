#include "ctl/container/names.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/unique_fd.h"

namespace berth::ctl {
namespace {

// Our own lists: plain, friendly adjectives and the surnames of scientists and engineers.
constexpr const char* kAdjectives[] = {
    "amber",   "ample",  "arcane",   "balmy",   "bright", "brisk",   "candid",  "cheery",
    "civic",   "cosmic", "crisp",    "curious", "dapper", "daring",  "deft",    "diligent",
    "earnest", "fabled", "fearless", "fluent",  "gentle", "glowing", "hardy",   "humble",
    "idle",    "jaunty", "lively",   "lofty",   "mellow", "merry",   "nimble",  "noble",
    "patient", "placid", "plucky",   "polite",  "proud",  "quiet",   "radiant", "rapid",
    "rustic",  "sturdy", "sunny",    "swift",   "tidy",   "valiant", "verdant", "wistful",
    "witty",   "zesty",
};

constexpr const char* kSurnames[] = {
    "ampere",  "avogadro", "bernoulli", "boole",   "cavendish",  "celsius",  "coulomb", "dijkstra",
    "dirac",   "doppler",  "faraday",   "fourier", "fresnel",    "galvani",  "gauss",   "germain",
    "gibbs",   "hamming",  "hertz",     "hopper",  "hubble",     "huygens",  "joule",   "kelvin",
    "kepler",  "lamarr",   "laplace",   "leibniz", "lorentz",    "lovelace", "mach",    "marconi",
    "maxwell", "meitner",  "mobius",    "napier",  "noether",    "ohm",      "pascal",  "pauli",
    "poisson", "riemann",  "rontgen",   "shannon", "somerville", "stokes",   "turing",  "volta",
    "yukawa",  "zuse",
};

constexpr size_t kAdjectiveCount = sizeof(kAdjectives) / sizeof(kAdjectives[0]);
constexpr size_t kSurnameCount = sizeof(kSurnames) / sizeof(kSurnames[0]);

absl::Status ReadRandom(void* buf, size_t size) {
  ASSIGN_OR_RETURN(UniqueFd fd, sys::Open("/dev/urandom", O_RDONLY | O_CLOEXEC));
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd.get(), static_cast<char*>(buf) + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus("read(/dev/urandom)", n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

bool NameChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-'; }

}  // namespace

absl::StatusOr<std::string> NewContainerId() {
  for (;;) {
    char bytes[32];
    RETURN_IF_ERROR(ReadRandom(bytes, sizeof(bytes)));
    std::string id = absl::BytesToHexString(absl::string_view(bytes, sizeof(bytes)));
    const std::string short_id = ShortContainerId(id);
    bool digits = true;
    for (char c : short_id) digits = digits && absl::ascii_isdigit(c);
    if (!digits) return id;
  }
}

bool IsContainerId(absl::string_view id) {
  if (id.size() != 64) return false;
  for (char c : id) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

std::string ShortContainerId(absl::string_view id) { return std::string(id.substr(0, 12)); }

std::string GenerateName(uint64_t random, int retry) {
  std::string name = absl::StrCat(kAdjectives[random % kAdjectiveCount], "_",
                                  kSurnames[(random / kAdjectiveCount) % kSurnameCount]);
  if (retry > 0) absl::StrAppend(&name, (random / kAdjectiveCount / kSurnameCount) % 10);
  return name;
}

absl::StatusOr<std::string> RandomName(int retry) {
  uint64_t random = 0;
  RETURN_IF_ERROR(ReadRandom(&random, sizeof(random)));
  return GenerateName(random, retry);
}

absl::StatusOr<std::string> ValidateName(absl::string_view name) {
  absl::string_view n = name;
  if (!n.empty() && n[0] == '/') n.remove_prefix(1);
  bool ok = n.size() >= 2 && absl::ascii_isalnum(n[0]);
  for (size_t i = 1; ok && i < n.size(); ++i) ok = NameChar(n[i]);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Invalid container name (", name, "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  }
  return std::string(n);
}

size_t NameAdjectiveCount() { return kAdjectiveCount; }
size_t NameSurnameCount() { return kSurnameCount; }

}  // namespace berth::ctl
