#include "runtime/linux/seccomp.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/unique_fd.h"
#include "spdlog/spdlog.h"

namespace berth::runtime {
namespace {

using json = nlohmann::json;

absl::Status Invalid(const std::string& where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("linux.seccomp", where, ": ", what));
}

absl::StatusOr<uint32_t> Action(const std::string& name, int errno_ret, const std::string& where) {
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(static_cast<uint16_t>(errno_ret));
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(static_cast<uint16_t>(errno_ret));
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") {
    return Invalid(where,
                   "SCMP_ACT_NOTIFY needs a seccomp agent, which berth-runtime does not run");
  }
  return Invalid(where, absl::StrCat("unknown action \"", name, "\""));
}

absl::StatusOr<scmp_compare> Op(const std::string& name, const std::string& where) {
  static const std::pair<const char*, scmp_compare> kOps[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (const auto& [n, op] : kOps) {
    if (name == n) return op;
  }
  return Invalid(where, absl::StrCat("unknown operator \"", name, "\""));
}

int ErrnoRet(const json& obj, int fallback) {
  auto it = obj.find("errnoRet");
  return it != obj.end() && it->is_number_integer() ? it->get<int>() : fallback;
}

// The key of a compiled program: the profile as parsed (nlohmann keeps object keys sorted, so
// equal profiles print equally) and what else decides the program.
std::string CacheKey(const json& profile) {
  const scmp_version* v = seccomp_version();
  return absl::StrCat(profile.dump(), "\nlibseccomp ", v->major, ".", v->minor, ".", v->micro,
                      "\narch ", seccomp_arch_native(), "\n");
}

// FNV-1a: a file name for the key, not a proof of equality (the file holds the key itself).
std::string CacheFile(const std::string& dir, absl::string_view key) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return path::Join(dir, absl::StrCat(absl::Hex(h, absl::kZeroPad16), ".bpf"));
}

// A cached program: magic, flags, rules, key length, program length, key, program.
constexpr absl::string_view kMagic = "BERTHSC1";
struct CacheHeader {
  char magic[8];
  uint32_t flags;
  uint32_t rules;
  uint64_t key_size;
  uint64_t program_size;
};

}  // namespace

// libseccomp's rule database for `s`, exported as the BPF program the kernel takes.
absl::StatusOr<std::unique_ptr<SeccompFilter>> SeccompFilter::Compile(const nlohmann::json& s) {
  try {
    if (s.contains("listenerPath") && !s["listenerPath"].get<std::string>().empty()) {
      return Invalid(".listenerPath", "seccomp agents are not supported");
    }
    const int default_errno =
        s.contains("defaultErrnoRet") && s["defaultErrnoRet"].is_number_integer()
            ? s["defaultErrnoRet"].get<int>()
            : 1;  // EPERM, as runc
    absl::StatusOr<uint32_t> def =
        Action(s.value("defaultAction", ""), default_errno, ".defaultAction");
    if (!def.ok()) return def.status();

    std::unique_ptr<SeccompFilter> f(new SeccompFilter());
    std::unique_ptr<void, void (*)(scmp_filter_ctx)> owned(seccomp_init(*def), seccomp_release);
    scmp_filter_ctx ctx = owned.get();
    if (ctx == nullptr) return Invalid(".defaultAction", "seccomp_init failed");
    for (const json& a : s.value("architectures", json::array())) {
      std::string name = absl::AsciiStrToLower(a.get<std::string>());
      absl::string_view arch_name(name);
      absl::ConsumePrefix(&arch_name, "scmp_arch_");
      name = std::string(arch_name);
      uint32_t arch = seccomp_arch_resolve_name(name.c_str());
      if (arch == 0)
        return Invalid(".architectures",
                       absl::StrCat("unknown architecture \"", a.get<std::string>(), "\""));
      int rc = seccomp_arch_add(ctx, arch);
      if (rc != 0 && rc != -EEXIST) return Invalid(".architectures", std::strerror(-rc));
    }
    for (const json& flag : s.value("flags", json::array())) {
      std::string fl = flag.get<std::string>();
      if (fl == "SECCOMP_FILTER_FLAG_LOG") {
        f->flags_ |= SECCOMP_FILTER_FLAG_LOG;
      } else if (fl == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
        f->flags_ |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
      } else if (fl != "SECCOMP_FILTER_FLAG_TSYNC") {
        return Invalid(".flags", absl::StrCat("unknown flag \"", fl, "\""));
      }
    }
    const json syscalls = s.value("syscalls", json::array());
    for (size_t i = 0; i < syscalls.size(); ++i) {
      const json& rule = syscalls[i];
      const std::string where = absl::StrCat(".syscalls[", i, "]");
      absl::StatusOr<uint32_t> act =
          Action(rule.value("action", ""), ErrnoRet(rule, 1), where + ".action");
      if (!act.ok()) return act.status();
      if (*act == *def) continue;  // libseccomp refuses rules that repeat the default
      std::vector<scmp_arg_cmp> args;
      bool repeated_index = false;
      for (const json& arg : rule.value("args", json::array())) {
        absl::StatusOr<scmp_compare> op = Op(arg.value("op", ""), where + ".args");
        if (!op.ok()) return op.status();
        unsigned index = arg.value("index", 0u);
        if (index > 5) return Invalid(where + ".args", "index must be 0 to 5");
        for (const scmp_arg_cmp& seen : args) repeated_index |= seen.arg == index;
        args.push_back(
            {index, *op, arg.value("value", uint64_t{0}), arg.value("valueTwo", uint64_t{0})});
      }
      for (const json& n : rule.value("names", json::array())) {
        const std::string name = n.get<std::string>();
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) {
          spdlog::debug("seccomp: skipping syscall \"{}\", unknown to this libseccomp", name);
          continue;
        }
        // One rule may test each argument once; conditions on the same argument become
        // separate rules (any of them matches), as runc does.
        std::vector<std::vector<scmp_arg_cmp>> groups;
        if (repeated_index) {
          for (const scmp_arg_cmp& a : args) groups.push_back({a});
        } else {
          groups.push_back(args);
        }
        for (const auto& g : groups) {
          int rc = seccomp_rule_add_array(ctx, *act, nr, static_cast<unsigned>(g.size()), g.data());
          if (rc != 0) {
            return Invalid(where,
                           absl::StrCat("adding a rule for ", name, ": ", std::strerror(-rc)));
          }
          ++f->rules_;
        }
      }
    }
    UniqueFd mem(::memfd_create("seccomp-bpf", MFD_CLOEXEC));
    if (!mem.valid()) return ErrnoStatus("memfd_create", errno);
    if (int rc = seccomp_export_bpf(ctx, mem.get()); rc != 0) {
      return Invalid("", absl::StrCat("compiling the filter: ", std::strerror(-rc)));
    }
    ASSIGN_OR_RETURN(f->program_, sys::ReadFile(absl::StrCat("/proc/self/fd/", mem.get())));
    if (f->program_.empty() || f->program_.size() % sizeof(sock_filter) != 0) {
      return Invalid("", "libseccomp exported no program");
    }
    return f;
  } catch (const json::exception& e) {
    return Invalid("", absl::StrCat("malformed: ", e.what()));
  }
}

std::unique_ptr<SeccompFilter> SeccompFilter::ReadCached(const std::string& file,
                                                         absl::string_view key) {
  absl::StatusOr<std::string> data = sys::ReadFile(file);
  if (!data.ok() || data->size() < sizeof(CacheHeader)) return nullptr;
  CacheHeader h;
  std::memcpy(&h, data->data(), sizeof(h));
  if (absl::string_view(h.magic, sizeof(h.magic)) != kMagic || h.key_size != key.size() ||
      h.program_size == 0 || h.program_size % sizeof(sock_filter) != 0 ||
      data->size() != sizeof(h) + h.key_size + h.program_size ||
      absl::string_view(*data).substr(sizeof(h), h.key_size) != key) {
    return nullptr;
  }
  std::unique_ptr<SeccompFilter> f(new SeccompFilter());
  f->flags_ = h.flags;
  f->rules_ = static_cast<int>(h.rules);
  f->program_ = data->substr(sizeof(h) + h.key_size);
  f->from_cache_ = true;
  return f;
}

void SeccompFilter::WriteCached(const std::string& dir, const std::string& file,
                                absl::string_view key) const {
  CacheHeader h{};
  std::memcpy(h.magic, kMagic.data(), sizeof(h.magic));
  h.flags = flags_;
  h.rules = static_cast<uint32_t>(rules_);
  h.key_size = key.size();
  h.program_size = program_.size();
  std::string data(reinterpret_cast<const char*>(&h), sizeof(h));
  absl::StrAppend(&data, key, program_);
  absl::Status st = sys::MkdirAll(dir, 0700);
  if (st.ok()) st = sys::WriteFileAtomic(file, data, 0600, sys::Durability::kVolatile);
  if (!st.ok()) spdlog::debug("seccomp: not cached: {}", st.ToString());
}

absl::StatusOr<std::unique_ptr<SeccompFilter>> SeccompFilter::FromSpec(
    const std::string& spec, const std::string& cache_dir) {
  // Most specs have no profile; skip a second parse of the whole document for them.
  if (spec.find("\"seccomp\"") == std::string::npos) return std::unique_ptr<SeccompFilter>();
  json doc = json::parse(spec, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.contains("linux") || !doc["linux"].is_object() ||
      !doc["linux"].contains("seccomp") || doc["linux"]["seccomp"].is_null()) {
    return std::unique_ptr<SeccompFilter>();
  }
  const json& s = doc["linux"]["seccomp"];
  if (!s.is_object()) return Invalid("", "expected an object");
  if (cache_dir.empty()) return Compile(s);
  const std::string key = CacheKey(s);
  const std::string file = CacheFile(cache_dir, key);
  if (std::unique_ptr<SeccompFilter> cached = ReadCached(file, key)) return cached;
  ASSIGN_OR_RETURN(std::unique_ptr<SeccompFilter> f, Compile(s));
  f->WriteCached(cache_dir, file, key);
  return f;
}

absl::Status SeccompFilter::Load() const {
  sock_fprog prog{
      .len = static_cast<unsigned short>(program_.size() / sizeof(sock_filter)),
      .filter = reinterpret_cast<sock_filter*>(const_cast<char*>(program_.data())),
  };
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags_, &prog);
  if (rc != 0 && errno == EINVAL && flags_ != 0) {
    // A kernel without the flag (LOG came in 4.14, SPEC_ALLOW in 4.17): as libseccomp, which
    // sets a flag only where the kernel has it, load the same program without.
    rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
  }
  if (rc != 0) {
    return absl::PermissionDeniedError(absl::StrCat("seccomp: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace berth::runtime
