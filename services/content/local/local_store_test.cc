#include "services/content/local/local_store.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/syscall.h"
#include "services/content/local/testing.h"

namespace berth::content::local {
namespace {

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadAll(Reader& r, int64_t offset = 0, size_t n = 1 << 20) {
  std::string buf(n, '\0');
  absl::StatusOr<size_t> got = r.ReadAt(offset, buf.data(), n);
  EXPECT_TRUE(got.ok()) << got.status();
  buf.resize(got.ok() ? *got : 0);
  return buf;
}

class LocalStoreTest : public testing::Test {
 protected:
  void SetUp() override { t_ = TestStore::Make(); }
  ContentStore& store() { return *t_->store; }
  std::unique_ptr<Writer> Open(const std::string& ns, WriterOptions o) {
    absl::StatusOr<std::unique_ptr<Writer>> w = store().OpenWriter(ns, o);
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? *std::move(w) : nullptr;
  }
  std::unique_ptr<TestStore> t_;
};

TEST_F(LocalStoreTest, WriteCommitInfoAndReadAtOffset) {
  const std::string data = "hello, content store";
  const Digest d = Sha256Of(data);
  auto w = Open("default", {.ref = "r1", .total = static_cast<int64_t>(data.size())});
  ASSERT_TRUE(w->Write(data.substr(0, 5)).ok());
  ASSERT_TRUE(w->Write(data.substr(5)).ok());
  EXPECT_EQ(w->Status().offset, static_cast<int64_t>(data.size()));
  EXPECT_EQ(w->DigestSoFar(), d);
  absl::StatusOr<Info> info = w->Commit({{"a", "b"}});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->digest, d.ToString());
  EXPECT_EQ(info->size, static_cast<int64_t>(data.size()));

  struct stat st;
  ASSERT_EQ(stat(t_->store->paths().Blob(d).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  EXPECT_TRUE(Entries(t_->store->paths().IngestRoot()).empty()) << "ingest left behind";
  EXPECT_EQ(store().Status("default", "r1").status().code(), absl::StatusCode::kNotFound);

  absl::StatusOr<Info> got = store().GetInfo("default", d);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->labels, (Labels{{"a", "b"}}));
  absl::StatusOr<std::unique_ptr<Reader>> r = store().Open("default", d);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->size(), static_cast<int64_t>(data.size()));
  EXPECT_EQ(ReadAll(**r), data);
  EXPECT_EQ(ReadAll(**r, 7, 7), "content");
  EXPECT_EQ(ReadAll(**r, 15), "store");
  EXPECT_EQ(ReadAll(**r, 100), "");
}

TEST_F(LocalStoreTest, WrongDigestStoresNothingAndSaysExpectedVsActual) {
  const std::string wrong = Sha256Of("something else").ToString();
  auto w = Open("default", {.ref = "r", .expected = wrong});
  ASSERT_TRUE(w->Write("actual bytes").ok());
  absl::StatusOr<Info> info = w->Commit({});
  ASSERT_EQ(info.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(info.status().message().find("digest mismatch: expected " + wrong + ", got " +
                                         Sha256Of("actual bytes").ToString()),
            std::string::npos)
      << info.status();
  EXPECT_TRUE(Entries(t_->store->paths().BlobsDir()).empty());
  EXPECT_TRUE(Entries(t_->store->paths().IngestRoot()).empty());
  EXPECT_EQ(store().GetInfo("default", Sha256Of("actual bytes")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(w->Write("more").ok()) << "a discarded writer takes no more data";
}

TEST_F(LocalStoreTest, WrongSizeStoresNothing) {
  auto w = Open("default", {.ref = "r", .total = 10});
  ASSERT_TRUE(w->Write("12345678901").ok());
  absl::StatusOr<Info> info = w->Commit({});
  ASSERT_EQ(info.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(info.status().message().find("size mismatch: expected 10 bytes, got 11"),
            std::string::npos)
      << info.status();
  EXPECT_TRUE(Entries(t_->store->paths().BlobsDir()).empty());
}

TEST_F(LocalStoreTest, InterruptedWriteResumesByRefEvenAfterARestart) {
  std::string data(300000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  const Digest d = Sha256Of(data);
  {
    auto w = Open("ns", {.ref = "pull/layer",
                         .total = static_cast<int64_t>(data.size()),
                         .expected = d.ToString()});
    ASSERT_TRUE(w->Write(data.substr(0, 123457)).ok());
  }  // the stream broke
  absl::StatusOr<IngestStatus> s = store().Status("ns", "pull/layer");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->offset, 123457);
  EXPECT_EQ(s->total, static_cast<int64_t>(data.size()));
  EXPECT_EQ(s->expected, d.ToString());

  // A new store on the same directories, as after a daemon restart.
  absl::StatusOr<std::shared_ptr<LocalContentStore>> again =
      LocalContentStore::Open(t_->root + "/content", t_->md.get());
  ASSERT_TRUE(again.ok());
  absl::StatusOr<std::unique_ptr<Writer>> w = (*again)->OpenWriter("ns", {.ref = "pull/layer"});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ((*w)->Status().offset, 123457);
  EXPECT_EQ((*w)->Status().expected, d.ToString()) << "the announced digest is remembered";
  EXPECT_EQ((*w)->DigestSoFar(), Sha256Of(data.substr(0, 123457))) << "partial data rehashed";
  ASSERT_TRUE((*w)->Write(data.substr(123457)).ok());
  absl::StatusOr<Info> info = (*w)->Commit({});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->digest, d.ToString());
}

TEST_F(LocalStoreTest, TruncateStartsOver) {
  auto w = Open("default", {.ref = "r"});
  ASSERT_TRUE(w->Write("garbage").ok());
  ASSERT_TRUE(w->Truncate().ok());
  ASSERT_TRUE(w->Write("good").ok());
  ASSERT_TRUE(w->SetExpected(4, Sha256Of("good").ToString()).ok());
  absl::StatusOr<Info> info = w->Commit({});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, 4);
}

TEST_F(LocalStoreTest, OneWriterPerRefAndAbortRemovesTheIngest) {
  auto w = Open("default", {.ref = "r"});
  absl::StatusOr<std::unique_ptr<Writer>> second = store().OpenWriter("default", {.ref = "r"});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store().Abort("default", "r").code(), absl::StatusCode::kUnavailable);
  // The same ref in another namespace is another ingest.
  EXPECT_TRUE(store().OpenWriter("other", {.ref = "r"}).ok());

  ASSERT_TRUE(w->Write("partial").ok());
  w.reset();
  ASSERT_TRUE(store().Abort("default", "r").ok());
  EXPECT_EQ(store().Status("default", "r").status().code(), absl::StatusCode::kNotFound);
  absl::Status again = store().Abort("default", "r");
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(again.message(), "ingest ref \"r\" not found in namespace \"default\"");
}

TEST_F(LocalStoreTest, ExistingBlobIsAlreadyExistsInItsNamespaceAndSharedWithOthers) {
  ASSERT_TRUE(WriteBlob(store(), "a", "shared").ok());
  EXPECT_EQ(store().GetInfo("b", Sha256Of("shared")).status().code(), absl::StatusCode::kNotFound)
      << "committed in a only";
  absl::StatusOr<Info> dup = WriteBlob(store(), "a", "shared");
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.status().message(),
            "content " + Sha256Of("shared").ToString() + " in namespace \"a\" already exists");
  EXPECT_TRUE(Entries(t_->store->paths().IngestRoot()).empty());

  absl::StatusOr<Info> b = WriteBlob(store(), "b", "shared", {{"in", "b"}});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(Entries(t_->store->paths().BlobsDir()).size(), 1u) << "one file for both";
  EXPECT_TRUE(store().GetInfo("a", Sha256Of("shared"))->labels.empty()) << "labels per namespace";
}

TEST_F(LocalStoreTest, HostileRefsStayInsideTheIngestDirectory) {
  const std::vector<std::string> refs = {"../x", "../../../../tmp/evil",     "/etc/passwd", "a/b/c",
                                         ".",    std::string("nul\0byte", 8)};
  for (const std::string& ref : refs) {
    auto w = Open("default", {.ref = ref});
    ASSERT_NE(w, nullptr) << ref;
    ASSERT_TRUE(w->Write("x").ok());
    w.reset();
    absl::StatusOr<IngestStatus> s = store().Status("default", ref);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->ref, ref);
  }
  EXPECT_EQ(store().ListStatuses("default")->size(), 6u);
  for (const std::string& name : Entries(t_->store->paths().IngestRoot())) {
    EXPECT_EQ(name.size(), 64u) << name;
  }
  std::vector<std::string> top = Entries(t_->root);
  EXPECT_EQ(top, (std::vector<std::string>{"content", "metadata.db", "metadata.db-shm",
                                           "metadata.db-wal"}));
  EXPECT_EQ(Entries(t_->root + "/content"), (std::vector<std::string>{"blobs", "ingest"}));
  EXPECT_EQ(store().OpenWriter("default", {.ref = ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(LocalStoreTest, StatusesArePerNamespace) {
  Open("a", {.ref = "one", .total = 5});
  Open("a", {.ref = "two"});
  Open("b", {.ref = "three"});
  absl::StatusOr<std::vector<IngestStatus>> a = store().ListStatuses("a");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].ref, "one");
  EXPECT_EQ((*a)[0].total, 5);
  EXPECT_EQ(store().ListStatuses("b")->size(), 1u);
  EXPECT_TRUE(store().ListStatuses("c")->empty());
  EXPECT_EQ(store().Status("b", "one").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(LocalStoreTest, UpdateLabelsByMask) {
  ASSERT_TRUE(WriteBlob(store(), "default", "x", {{"keep", "1"}, {"drop", "2"}}).ok());
  const std::string d = Sha256Of("x").ToString();
  absl::StatusOr<Info> u = store().Update("default", {.digest = d, .labels = {{"new", "3"}}},
                                          {"labels.new", "labels.drop"});
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->labels, (Labels{{"keep", "1"}, {"new", "3"}}));
  u = store().Update("default", {.digest = d, .labels = {{"only", "this"}}}, {});
  EXPECT_EQ(u->labels, (Labels{{"only", "this"}}));
  EXPECT_EQ(store().Update("default", {.digest = d}, {"size"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().Update("other", {.digest = d}, {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store()
                .Update("default", {.digest = d, .labels = {{"k", std::string(5000, 'v')}}}, {})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(LocalStoreTest, ReaderOutlivesDelete) {
  ASSERT_TRUE(WriteBlob(store(), "default", "ephemeral").ok());
  const Digest d = Sha256Of("ephemeral");
  absl::StatusOr<std::unique_ptr<Reader>> r = store().Open("default", d);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(store().Delete("default", d).ok());
  ASSERT_TRUE(t_->gc->Collect().ok());
  EXPECT_FALSE(sys::Exists(t_->store->paths().Blob(d)));
  EXPECT_EQ(ReadAll(**r), "ephemeral");
  EXPECT_EQ(store().Delete("default", d).message(),
            "content " + d.ToString() + " not found in namespace \"default\"");
}

TEST_F(LocalStoreTest, WriterForAMissingLeaseIsNotFound) {
  absl::StatusOr<std::unique_ptr<Writer>> w =
      store().OpenWriter("default", {.ref = "r", .lease = "nope"});
  EXPECT_EQ(w.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(w.status().message(), "lease \"nope\" not found in namespace \"default\"");
}

}  // namespace
}  // namespace berth::content::local
