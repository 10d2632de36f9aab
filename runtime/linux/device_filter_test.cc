#include "runtime/linux/device_filter.h"

#include <gtest/gtest.h>
#include <linux/bpf.h>

namespace berth::runtime {
namespace {

TEST(DeviceFilter, DenyAllEndsTheProgram) {
  // Newest first: the allow rule is tested, then deny-all answers everything else, and no
  // default (unreachable) follows it.
  std::vector<DeviceRule> rules = {
      {.allow = false, .type = "a", .access = "rwm"},
      {.allow = true, .type = "c", .major = 1, .minor = 3, .access = "rw"}};
  absl::StatusOr<std::vector<bpf_insn>> p = CompileDeviceFilter(rules);
  ASSERT_TRUE(p.ok()) << p.status();
  // 6 loads, allow block (type, access 3, major, minor, mov, exit = 8), deny block (mov, exit).
  ASSERT_EQ(p->size(), 6u + 8u + 2u);
  EXPECT_EQ(p->back().code, BPF_JMP | BPF_EXIT);
  EXPECT_EQ((*p)[p->size() - 2].imm, 0) << "deny-all returns 0";
  // Every jump in the allow block lands on the deny block.
  for (size_t i = 6; i < 14; ++i) {
    if ((*p)[i].code == (BPF_JMP | BPF_JNE | BPF_K)) {
      EXPECT_EQ(i + 1 + (*p)[i].off, 14u) << i;
    }
  }
}

TEST(DeviceFilter, NoCatchAllFallsBackToAllow) {
  std::vector<DeviceRule> rules = {{.allow = false, .type = "c", .major = 10, .access = "rwm"}};
  absl::StatusOr<std::vector<bpf_insn>> p = CompileDeviceFilter(rules);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)[p->size() - 2].imm, 1);
}

TEST(DeviceFilter, RuntimeAddsTheStandardDevicesAfterTheSpecsRules) {
  Resources r;
  r.devices = {{.allow = false, .type = "a", .access = "rwm"}};
  std::vector<DeviceRule> eff =
      EffectiveDeviceRules(&r, {{.path = "/dev/fuse", .type = "c", .major = 10, .minor = 229}});
  ASSERT_GT(eff.size(), 2u);
  EXPECT_FALSE(eff.front().allow);
  EXPECT_TRUE(eff.back().allow);
  EXPECT_EQ(*eff.back().major, 10);
  EXPECT_EQ(*eff.back().minor, 229);
}

TEST(DeviceFilter, UnknownTypeIsAnError) {
  EXPECT_FALSE(CompileDeviceFilter({{.allow = true, .type = "x", .access = "r"}}).ok());
}

}  // namespace
}  // namespace berth::runtime
