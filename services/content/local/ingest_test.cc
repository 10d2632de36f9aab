#include "services/content/local/ingest.h"

#include <gtest/gtest.h>

#include "services/content/local/paths.h"

namespace berth::content::local {
namespace {

TEST(IngestState, RoundTripsThroughJson) {
  IngestState s{.ns = "default",
                .ref = "../weird \"ref\"\n",
                .total = 1234,
                .expected = "sha256:" + std::string(64, 'a'),
                .started_at = absl::FromUnixNanos(1700000000123456789),
                .offset = 99};
  absl::StatusOr<IngestState> back = DecodeIngestState(EncodeIngestState(s), "f");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ns, s.ns);
  EXPECT_EQ(back->ref, s.ref);
  EXPECT_EQ(back->total, s.total);
  EXPECT_EQ(back->expected, s.expected);
  EXPECT_EQ(back->started_at, s.started_at);
  EXPECT_EQ(back->offset, 99);
}

TEST(IngestState, CorruptFilesAreDataLossNamingTheFile) {
  for (const char* text : {"", "[1]", "{\"ref\": 3}", "{\"namespace\":\"a\"}"}) {
    absl::StatusOr<IngestState> s = DecodeIngestState(text, "/x/state.json");
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << text;
    EXPECT_NE(s.status().message().find("/x/state.json"), std::string::npos) << s.status();
  }
}

TEST(RunningSha256, PeekDoesNotDisturbTheStream) {
  RunningSha256 h;
  EXPECT_EQ(h.Peek(), Sha256Of(""));
  h.Update("hello ");
  EXPECT_EQ(h.Peek(), Sha256Of("hello "));
  h.Update("world");
  EXPECT_EQ(h.Peek(), Sha256Of("hello world"));
  h.Reset();
  h.Update("x");
  EXPECT_EQ(h.Peek(), Sha256Of("x"));
}

TEST(Refs, AreBoundedAndHashedPerNamespace) {
  EXPECT_TRUE(ValidateRef("../../etc/passwd").ok());
  EXPECT_EQ(ValidateRef("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateRef(std::string(kMaxRefBytes + 1, 'x')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Paths::IngestKey("a", "r").size(), 64u);
  EXPECT_NE(Paths::IngestKey("a", "r"), Paths::IngestKey("b", "r"));
  EXPECT_EQ(Paths::IngestKey("a", "../x").find('/'), std::string::npos);
}

}  // namespace
}  // namespace berth::content::local
