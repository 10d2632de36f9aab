// Layer streams decompressed on their own threads: the bytes, prefetch and take, failures,
// and streams nobody takes.
#include "services/diff/prefetch.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/time/clock.h"
#include "common/digest.h"
#include "services/content/local/testing.h"
#include "snapshotter/apply/tar_builder.h"

namespace berth::services {
namespace {

using ::berth::snapshotter::testing::TarBuilder;

std::string ReadAll(LayerStream& s, absl::Status* error = nullptr) {
  std::string out;
  char buf[7000];  // not a multiple of the chunk size
  while (true) {
    absl::StatusOr<size_t> n = s.Read(buf, sizeof(buf));
    if (!n.ok()) {
      if (error != nullptr) *error = n.status();
      return out;
    }
    if (*n == 0) return out;
    out.append(buf, *n);
  }
}

// A tar of `files` files of `size` bytes each (incompressible enough to be big when gzipped).
std::string Tar(int files, size_t size, TarBuilder::Compression c) {
  TarBuilder b(c);
  std::string data(size, '\0');
  uint32_t x = 12345;
  for (int i = 0; i < files; ++i) {
    for (char& ch : data) {
      x = x * 1103515245 + 12345;
      ch = static_cast<char>(x >> 24);
    }
    b.File("f" + std::to_string(i), data);
  }
  return b.Finish();
}

class PrefetchTest : public testing::Test {
 protected:
  void SetUp() override { t_ = ::berth::content::local::TestStore::Make(); }

  Digest Store(const std::string& blob) {
    EXPECT_TRUE(::berth::content::local::WriteBlob(*t_->store, "default", blob).ok());
    return Sha256Of(blob);
  }

  std::unique_ptr<::berth::content::local::TestStore> t_;
};

TEST_F(PrefetchTest, StreamsAreTheUncompressedTar) {
  LayerPrefetcher p(t_->store, /*buffer=*/64 << 10);
  for (auto c : {TarBuilder::Compression::kNone, TarBuilder::Compression::kGzip,
                 TarBuilder::Compression::kZstd}) {
    const std::string plain = Tar(3, 300 << 10, TarBuilder::Compression::kNone);
    const Digest d = Store(Tar(3, 300 << 10, c));
    std::shared_ptr<LayerStream> s = p.Take("default", d);
    absl::Status error;
    EXPECT_EQ(ReadAll(*s, &error), plain);
    EXPECT_TRUE(error.ok()) << error;
    s->Cancel();
  }
  EXPECT_EQ(p.prefetched_taken(), 0);
}

TEST_F(PrefetchTest, APrefetchedStreamIsTakenOnceAndFillsAhead) {
  LayerPrefetcher p(t_->store, /*buffer=*/1 << 20);
  const std::string plain = Tar(2, 100 << 10, TarBuilder::Compression::kNone);
  const Digest d = Store(Tar(2, 100 << 10, TarBuilder::Compression::kGzip));
  p.Prefetch("default", d);
  p.Prefetch("default", d);  // already waiting: not started twice
  EXPECT_EQ(p.started(), 1);
  std::shared_ptr<LayerStream> s = p.Take("default", d);
  EXPECT_EQ(p.prefetched_taken(), 1);
  // It fits the buffer, so it was decompressed without a reader.
  for (int i = 0; i < 500 && !s->done(); ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_TRUE(s->done());
  EXPECT_EQ(ReadAll(*s), plain);
  s->Cancel();
  // Another namespace does not see it; a second take starts again.
  std::shared_ptr<LayerStream> other = p.Take("other", d);
  absl::Status error;
  ReadAll(*other, &error);
  EXPECT_EQ(error.code(), absl::StatusCode::kNotFound) << error;
  other->Cancel();
  EXPECT_EQ(p.started(), 2);
}

TEST_F(PrefetchTest, AFailedPrefetchIsTriedAgainAtTake) {
  LayerPrefetcher p(t_->store);
  const std::string blob = Tar(1, 1000, TarBuilder::Compression::kGzip);
  const Digest d = Sha256Of(blob);
  p.Prefetch("default", d);  // not in the store yet, as during a pull
  absl::SleepFor(absl::Milliseconds(50));
  Store(blob);
  std::shared_ptr<LayerStream> s = p.Take("default", d);
  absl::Status error;
  EXPECT_EQ(ReadAll(*s, &error), Tar(1, 1000, TarBuilder::Compression::kNone));
  EXPECT_TRUE(error.ok()) << error;
  s->Cancel();
}

TEST_F(PrefetchTest, CorruptBlobIsDataLoss) {
  LayerPrefetcher p(t_->store);
  std::string blob = Tar(1, 50000, TarBuilder::Compression::kGzip);
  blob.resize(blob.size() / 2);
  std::shared_ptr<LayerStream> s = p.Take("default", Store(blob));
  absl::Status error;
  ReadAll(*s, &error);
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss) << error;
  s->Cancel();
}

TEST_F(PrefetchTest, UntakenStreamsAreDroppedAndDestructionDoesNotWait) {
  const std::string plain = Tar(4, 256 << 10, TarBuilder::Compression::kNone);
  const Digest d = Store(Tar(4, 256 << 10, TarBuilder::Compression::kGzip));
  {
    // Larger than its buffer and never taken: it gives up after the timeout.
    LayerPrefetcher p(t_->store, /*buffer=*/64 << 10, absl::Milliseconds(100));
    p.Prefetch("default", d);
    absl::SleepFor(absl::Milliseconds(400));
    std::shared_ptr<LayerStream> s = p.Take("default", d);
    EXPECT_EQ(p.prefetched_taken(), 0);
    EXPECT_EQ(p.started(), 2);
    EXPECT_EQ(ReadAll(*s), plain);
    s->Cancel();
  }
  {
    // Blocked on a full buffer when the prefetcher goes: the destructor cancels and joins.
    LayerPrefetcher p(t_->store, /*buffer=*/64 << 10);
    p.Prefetch("default", d);
    absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace
}  // namespace berth::services
