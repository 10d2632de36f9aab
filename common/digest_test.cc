#include "common/digest.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

constexpr char kEmpty[] = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(Digest, KnownVectors) {
  EXPECT_EQ(Sha256Of("").ToString(), kEmpty);
  EXPECT_EQ(Sha256Of("abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, StreamingEqualsOneShot) {
  Sha256 h;
  h.Update("a");
  h.Update("");
  h.Update("bc");
  EXPECT_EQ(h.Final(), Sha256Of("abc"));
}

TEST(Digest, ParseAcceptsCanonicalSha256) {
  absl::StatusOr<Digest> d = Digest::Parse(kEmpty);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->algorithm(), "sha256");
  EXPECT_EQ(d->ToString(), kEmpty);
}

TEST(Digest, ParseRejectsAnythingThatCouldBecomeAPath) {
  for (const char* bad : {
           "",
           "sha256",
           "sha256:",
           "md5:d41d8cd98f00b204e9800998ecf8427e",
           "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
           "sha256:../../../../etc/passwd",
           "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
           "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855/x",
       }) {
    absl::StatusOr<Digest> d = Digest::Parse(bad);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace berth
