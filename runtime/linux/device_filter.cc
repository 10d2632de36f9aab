#include "runtime/linux/device_filter.h"

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/syscall.h"
#include "common/unique_fd.h"

namespace berth::runtime {
namespace {

constexpr bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
// The few instruction shapes the program needs.
bpf_insn LoadWord(uint8_t dst, uint8_t src, int16_t off) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
bpf_insn And32(uint8_t dst, int32_t imm) { return Insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm); }
bpf_insn Rsh32(uint8_t dst, int32_t imm) { return Insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm); }
bpf_insn Mov32Reg(uint8_t dst, uint8_t src) {
  return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn Mov64(uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn JumpNe(uint8_t dst, int32_t imm) {
  return Insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm);
}
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

int32_t AccessMask(const std::string& access) {
  int32_t m = 0;
  for (char c : access) {
    if (c == 'm') m |= BPF_DEVCG_ACC_MKNOD;
    if (c == 'r') m |= BPF_DEVCG_ACC_READ;
    if (c == 'w') m |= BPF_DEVCG_ACC_WRITE;
  }
  return m;
}

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

}  // namespace

std::vector<DeviceRule> EffectiveDeviceRules(const Resources* resources,
                                             const std::vector<Device>& devices) {
  std::vector<DeviceRule> rules;
  if (resources != nullptr) rules = resources->devices;
  auto allow = [&](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                   const char* access) {
    rules.push_back(
        {.allow = true, .type = type, .major = major, .minor = minor, .access = access});
  };
  // What runc grants every container: mknod of anything (the capability decides), and the
  // standard nodes.
  allow("c", std::nullopt, std::nullopt, "m");
  allow("b", std::nullopt, std::nullopt, "m");
  for (int64_t minor : {3, 5, 7, 8, 9})
    allow("c", 1, minor, "rwm");         // null zero full random urandom
  allow("c", 5, 0, "rwm");               // tty
  allow("c", 5, 1, "rwm");               // console
  allow("c", 5, 2, "rwm");               // ptmx
  allow("c", 136, std::nullopt, "rwm");  // pts
  for (const Device& d : devices) {
    if (d.type == "c" || d.type == "b") allow(d.type == "c" ? "c" : "b", d.major, d.minor, "rwm");
  }
  return rules;
}

absl::StatusOr<std::vector<bpf_insn>> CompileDeviceFilter(const std::vector<DeviceRule>& rules) {
  // r1 = struct bpf_cgroup_dev_ctx* {access_type = access << 16 | type, major, minor}.
  std::vector<bpf_insn> p = {
      LoadWord(2, 1, 0), And32(2, 0xffff),  // r2 = type
      LoadWord(3, 1, 0), Rsh32(3, 16),      // r3 = access
      LoadWord(4, 1, 4),                    // r4 = major
      LoadWord(5, 1, 8),                    // r5 = minor
  };
  // Last matching rule wins: test them newest first and return on the first match.
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const DeviceRule& r = *it;
    std::vector<bpf_insn> block;
    std::vector<size_t> jumps;
    if (r.type == "c" || r.type == "b") {
      jumps.push_back(block.size());
      block.push_back(JumpNe(2, r.type == "c" ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
    } else if (r.type != "a" && !r.type.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("linux.resources.devices: unknown type \"", r.type, "\" (a, c or b)"));
    }
    const int32_t mask = r.access.empty() ? kAllAccess : AccessMask(r.access);
    if (mask != kAllAccess) {
      // The access asked for must lie within the rule's.
      block.push_back(Mov32Reg(6, 3));
      block.push_back(And32(6, ~mask));
      jumps.push_back(block.size());
      block.push_back(JumpNe(6, 0));
    }
    if (r.major && *r.major >= 0) {
      jumps.push_back(block.size());
      block.push_back(JumpNe(4, static_cast<int32_t>(*r.major)));
    }
    if (r.minor && *r.minor >= 0) {
      jumps.push_back(block.size());
      block.push_back(JumpNe(5, static_cast<int32_t>(*r.minor)));
    }
    block.push_back(Mov64(0, r.allow ? 1 : 0));
    block.push_back(Exit());
    for (size_t j : jumps) block[j].off = static_cast<int16_t>(block.size() - j - 1);
    p.insert(p.end(), block.begin(), block.end());
    // A rule that matches everything ends the program: older rules could never be reached,
    // and the verifier refuses unreachable instructions.
    if (jumps.empty()) return p;
  }
  // No rule matched: allowed, as cgroup v1 is before any rule.
  p.push_back(Mov64(0, 1));
  p.push_back(Exit());
  return p;
}

absl::Status AttachDeviceFilter(int cgroup_fd, const std::vector<DeviceRule>& rules) {
  absl::StatusOr<std::vector<bpf_insn>> prog = CompileDeviceFilter(rules);
  if (!prog.ok()) return prog.status();
  static char log[16384];
  log[0] = '\0';
  static const char kLicense[] = "Apache";
  bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uint64_t>(prog->data());
  load.insn_cnt = static_cast<uint32_t>(prog->size());
  load.license = reinterpret_cast<uint64_t>(kLicense);
  load.log_buf = reinterpret_cast<uint64_t>(log);
  load.log_size = sizeof(log);
  load.log_level = 1;
  int fd = static_cast<int>(::syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load)));
  if (fd < 0) {
    return ErrnoStatus(absl::StrCat("bpf(BPF_PROG_LOAD, device filter of ", prog->size(),
                                    " instructions)", log[0] ? ": " : "", log),
                       errno);
  }
  UniqueFd prog_fd(fd);
  bpf_attr attach{};
  attach.target_fd = static_cast<uint32_t>(cgroup_fd);
  attach.attach_bpf_fd = static_cast<uint32_t>(prog_fd.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (::syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach)) != 0) {
    return ErrnoStatus("bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE)", errno);
  }
  // The attachment keeps the program; it goes with the cgroup.
  return absl::OkStatus();
}

}  // namespace berth::runtime
