// linux.resources → cgroup v2 files. The conversions are runc's, so that a spec means the same
// limits under either runtime.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/cgroup.h"

namespace berth::runtime {
namespace {

absl::Status Unsupported(const std::string& field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

std::string MaxOr(int64_t v) { return v < 0 ? "max" : absl::StrCat(v); }

// cpu.shares (2..262144) onto cpu.weight (1..10000) along the curve that current runc and crun
// use: it maps the ends onto the ends and the v1 default, 1024, onto the v2 default, 100 (the
// old linear formula gave 39, quietly lowering every container's weight).
uint64_t SharesToWeight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  double l = std::log2(static_cast<double>(shares));
  double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
  return static_cast<uint64_t>(std::ceil(std::pow(10.0, exponent)));
}

// blkio weight (10..1000) onto io.weight (1..10000), as runc does.
uint64_t BlkioWeightToIoWeight(uint64_t w) {
  if (w == 0) return 0;
  return 1 + (w - 10) * 9999 / 990;
}

// OCI's memory.swap is memory+swap; cgroup v2's memory.swap.max is swap alone.
absl::StatusOr<std::string> SwapMax(int64_t swap, std::optional<int64_t> limit) {
  if (swap == -1) return std::string("max");
  if (!limit.has_value() || *limit == 0) {
    return Unsupported("linux.resources.memory.swap", "a swap limit needs a memory limit");
  }
  if (*limit == -1) {
    return Unsupported("linux.resources.memory.swap",
                       "a swap limit with an unlimited memory limit has no meaning");
  }
  if (swap < *limit) {
    return Unsupported(
        "linux.resources.memory.swap",
        absl::StrCat("memory+swap (", swap, ") must be at least the memory limit (", *limit, ")"));
  }
  return absl::StrCat(swap - *limit);
}

bool SafeUnifiedKey(const std::string& key) {
  return !key.empty() && key.find('/') == std::string::npos && key != "." && key != ".." &&
         key.find('.') != std::string::npos;
}

}  // namespace

absl::StatusOr<std::vector<CgroupWrite>> ConvertResources(const Resources& r) {
  std::vector<CgroupWrite> w;
  if (r.memory) {
    const Resources::Memory& m = *r.memory;
    const std::string f = "linux.resources.memory";
    if (m.limit && *m.limit != 0) {
      w.push_back({"memory.max", MaxOr(*m.limit), "memory", f + ".limit"});
    }
    if (m.reservation && *m.reservation != 0) {
      w.push_back({"memory.low", MaxOr(*m.reservation), "memory", f + ".reservation"});
    }
    if (m.swap && *m.swap != 0) {
      absl::StatusOr<std::string> swap = SwapMax(*m.swap, m.limit);
      if (!swap.ok()) return swap.status();
      w.push_back({"memory.swap.max", *swap, "memory", f + ".swap"});
    }
    if (m.kernel || m.kernel_tcp) {
      return Unsupported(f + ".kernel", "kernel memory limits do not exist in cgroup v2");
    }
    if (m.swappiness && *m.swappiness != 0) {
      return Unsupported(f + ".swappiness", "swappiness cannot be set per cgroup in cgroup v2");
    }
    if (m.disable_oom_killer && *m.disable_oom_killer) {
      return Unsupported(f + ".disableOOMKiller", "the OOM killer cannot be disabled in cgroup v2");
    }
  }
  if (r.cpu) {
    const Resources::Cpu& c = *r.cpu;
    const std::string f = "linux.resources.cpu";
    if (c.shares && *c.shares != 0) {
      uint64_t weight = SharesToWeight(*c.shares);
      w.push_back({"cpu.weight", absl::StrCat(weight), "cpu", f + ".shares", weight == 100});
    }
    if ((c.quota && *c.quota != 0) || (c.period && *c.period != 0)) {
      std::string quota = c.quota && *c.quota > 0 ? absl::StrCat(*c.quota) : "max";
      uint64_t period = c.period && *c.period != 0 ? *c.period : 100000;
      w.push_back({"cpu.max", absl::StrCat(quota, " ", period), "cpu", f + ".quota"});
    }
    if (c.idle) w.push_back({"cpu.idle", absl::StrCat(*c.idle), "cpu", f + ".idle"});
    if ((c.realtime_runtime && *c.realtime_runtime != 0) ||
        (c.realtime_period && *c.realtime_period != 0)) {
      return Unsupported(f + ".realtimeRuntime",
                         "realtime scheduling limits do not exist in cgroup v2");
    }
    if (!c.cpus.empty()) w.push_back({"cpuset.cpus", c.cpus, "cpuset", f + ".cpus"});
    if (!c.mems.empty()) w.push_back({"cpuset.mems", c.mems, "cpuset", f + ".mems"});
  }
  if (r.pids_limit && *r.pids_limit != 0) {
    w.push_back({"pids.max", *r.pids_limit < 0 ? "max" : absl::StrCat(*r.pids_limit), "pids",
                 "linux.resources.pids.limit"});
  }
  if (r.block_io) {
    const Resources::BlockIo& b = *r.block_io;
    const std::string f = "linux.resources.blockIO";
    if (b.weight && *b.weight != 0) {
      w.push_back({"io.weight", absl::StrCat("default ", BlkioWeightToIoWeight(*b.weight)), "io",
                   f + ".weight"});
    }
    for (const WeightDevice& d : b.weight_device) {
      if (!d.weight) continue;
      w.push_back({"io.weight",
                   absl::StrCat(d.major, ":", d.minor, " ", BlkioWeightToIoWeight(*d.weight)), "io",
                   f + ".weightDevice"});
    }
    auto throttle = [&](const std::vector<ThrottleDevice>& list, const char* key,
                        const char* field) {
      for (const ThrottleDevice& t : list) {
        w.push_back({"io.max", absl::StrCat(t.major, ":", t.minor, " ", key, "=", t.rate), "io",
                     f + "." + field});
      }
    };
    throttle(b.throttle_read_bps, "rbps", "throttleReadBpsDevice");
    throttle(b.throttle_write_bps, "wbps", "throttleWriteBpsDevice");
    throttle(b.throttle_read_iops, "riops", "throttleReadIOPSDevice");
    throttle(b.throttle_write_iops, "wiops", "throttleWriteIOPSDevice");
  }
  for (const HugepageLimit& h : r.hugepage_limits) {
    w.push_back({absl::StrCat("hugetlb.", h.page_size, ".max"), absl::StrCat(h.limit), "hugetlb",
                 "linux.resources.hugepageLimits"});
  }
  for (const auto& [key, value] : r.unified) {
    const std::string field = absl::StrCat("linux.resources.unified.", key);
    if (!SafeUnifiedKey(key)) return Unsupported(field, "not a cgroup v2 file name");
    std::string controller(key.substr(0, key.find('.')));
    // cgroup.* files belong to the core, not to a controller.
    w.push_back({key, value, controller == "cgroup" ? "" : controller, field});
  }
  return w;
}

}  // namespace berth::runtime
