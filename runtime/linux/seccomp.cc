#include "runtime/linux/seccomp.h"

#include <seccomp.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
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

}  // namespace

SeccompFilter::~SeccompFilter() {
  if (ctx_ != nullptr) seccomp_release(static_cast<scmp_filter_ctx>(ctx_));
}

absl::StatusOr<std::unique_ptr<SeccompFilter>> SeccompFilter::FromSpec(const std::string& spec) {
  // Most specs have no profile; skip a second parse of the whole document for them.
  if (spec.find("\"seccomp\"") == std::string::npos) return std::unique_ptr<SeccompFilter>();
  json doc = json::parse(spec, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.contains("linux") || !doc["linux"].is_object() ||
      !doc["linux"].contains("seccomp") || doc["linux"]["seccomp"].is_null()) {
    return std::unique_ptr<SeccompFilter>();
  }
  const json& s = doc["linux"]["seccomp"];
  if (!s.is_object()) return Invalid("", "expected an object");
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
    scmp_filter_ctx ctx = seccomp_init(*def);
    if (ctx == nullptr) return Invalid(".defaultAction", "seccomp_init failed");
    f->ctx_ = ctx;
    // berth-runtime decides about no_new_privs itself (process.noNewPrivileges).
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
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
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
      } else if (fl == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
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
    return f;
  } catch (const json::exception& e) {
    return Invalid("", absl::StrCat("malformed: ", e.what()));
  }
}

absl::Status SeccompFilter::Load() const {
  int rc = seccomp_load(static_cast<scmp_filter_ctx>(ctx_));
  if (rc != 0) {
    return absl::Status(absl::StatusCode::kPermissionDenied,
                        absl::StrCat("seccomp_load: ", std::strerror(-rc)));
  }
  return absl::OkStatus();
}

}  // namespace berth::runtime
