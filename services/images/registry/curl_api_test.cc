#include "services/images/registry/curl_api.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace berth::registry {
namespace {

bool LibcurlMapped() {
  std::ifstream in("/proc/self/maps");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str().find("libcurl") != std::string::npos;
}

// Linked, libcurl would be mapped before main; loaded on first use, only after Curl().
TEST(CurlApiTest, LoadedOnFirstUseOnly) {
  EXPECT_FALSE(LibcurlMapped()) << "libcurl is mapped before anything asked for it";
  absl::StatusOr<const CurlApi*> api = Curl();
  ASSERT_TRUE(api.ok()) << api.status();
  EXPECT_TRUE(LibcurlMapped());
  absl::StatusOr<const CurlApi*> again = Curl();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *api);

  CURL* h = (*api)->easy_init();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ((*api)->easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:1/"), CURLE_OK);
  (*api)->easy_cleanup(h);
  EXPECT_STREQ((*api)->easy_strerror(CURLE_OK), "No error");
}

TEST(CurlApiTest, MissingLibraryIsAnError) {
  absl::StatusOr<CurlApi> api = LoadCurlApi("libcurl-berth-test-missing.so.4");
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(api.status().message().find("registry access needs libcurl (Debian package libcurl4)"),
            absl::string_view::npos)
      << api.status();
  EXPECT_NE(api.status().message().find("libcurl-berth-test-missing.so.4"), absl::string_view::npos)
      << api.status();
}

// A library that loads but is not libcurl: the missing symbol is named.
TEST(CurlApiTest, MissingSymbolIsAnError) {
  absl::StatusOr<CurlApi> api = LoadCurlApi("libz.so.1");
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(api.status().message().find("curl_global_init"), absl::string_view::npos)
      << api.status();
}

}  // namespace
}  // namespace berth::registry
