#include "ctl/container/capabilities.h"

#include <algorithm>

#include "common/capabilities.h"

namespace berth::ctl {
namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

struct Normalized {
  std::vector<std::string> caps;
  bool all = false;
};

absl::StatusOr<Normalized> Normalize(const std::vector<std::string>& names) {
  Normalized out;
  for (const std::string& name : names) {
    absl::StatusOr<std::string> c = ParseCapability(name);
    if (!c.ok()) return c.status();
    if (*c == "ALL") {
      out.all = true;
    } else if (!Contains(out.caps, *c)) {
      out.caps.push_back(*c);
    }
  }
  return out;
}

}  // namespace

const std::vector<std::string>& DefaultCapabilities() {
  static const std::vector<std::string>* const kCaps = new std::vector<std::string>{
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE",
  };
  return *kCaps;
}

absl::StatusOr<std::vector<std::string>> TweakCapabilities(const std::vector<std::string>& base,
                                                           const std::vector<std::string>& add,
                                                           const std::vector<std::string>& drop,
                                                           const std::vector<std::string>& all) {
  absl::StatusOr<Normalized> adds = Normalize(add);
  if (!adds.ok()) return adds.status();
  absl::StatusOr<Normalized> drops = Normalize(drop);
  if (!drops.ok()) return drops.status();
  std::vector<std::string> out;
  const auto push = [&](const std::string& c) {
    if (!Contains(out, c)) out.push_back(c);
  };
  if (adds->all) {
    for (const std::string& c : all) {
      if (!Contains(drops->caps, c)) push(c);
    }
  } else if (drops->all) {
    for (const std::string& c : adds->caps) push(c);
  } else {
    for (const std::string& c : base) {
      if (!Contains(drops->caps, c)) push(c);
    }
    for (const std::string& c : adds->caps) push(c);
  }
  return out;
}

}  // namespace berth::ctl
