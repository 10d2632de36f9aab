#include "common/namespace.h"

#include <gtest/gtest.h>

#include <string>

namespace berth {
namespace {

TEST(Namespace, AcceptsOrdinaryNames) {
  for (const char* ok : {"default", "k8s.io", "moby", "tenant_1", "a-b.c_d", "X"}) {
    EXPECT_TRUE(ValidateNamespace(ok).ok()) << ok;
  }
}

TEST(Namespace, RejectsNamesThatCouldEscapeADirectory) {
  for (const char* bad : {"", "..", "a/b", "-a", "a-", "a..b", "a b", "ns\n", "../etc"}) {
    absl::Status st = ValidateNamespace(bad);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ValidateNamespace(std::string(77, 'a')).ok());
  EXPECT_TRUE(ValidateNamespace(std::string(76, 'a')).ok());
}

}  // namespace
}  // namespace berth
