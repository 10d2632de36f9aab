// The content and leases services end to end: the real berthd on a temporary root, driven
// through real gRPC stubs, in two namespaces that must not see each other.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <memory>
#include <thread>

#include "berth/services/content/v1/content.grpc.pb.h"
#include "berth/services/leases/v1/leases.grpc.pb.h"
#include "common/digest.h"
#include "e2e/harness/daemon.h"
#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

namespace cpb = berth::services::content::v1;
namespace lpb = berth::services::leases::v1;

struct Daemon : TestDaemon {
  const std::string& root = TestDaemon::root();
  std::shared_ptr<grpc::Channel> channel = Channel();

  Daemon() : TestDaemon({"--log-level", "debug"}) { EXPECT_TRUE(started()) << Stderr(); }
  bool BlobOnDisk(const std::string& data) {
    struct stat st;
    return stat((root + "/content/blobs/sha256/" + Sha256Of(data).hex()).c_str(), &st) == 0;
  }
};

std::unique_ptr<grpc::ClientContext> In(const std::string& ns, const std::string& lease = "") {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("berth-namespace", ns);
  if (!lease.empty()) ctx->AddMetadata("berth-lease", lease);
  return ctx;
}

google::protobuf::Empty empty;

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131) ^ (i >> 9));
  return s;
}

cpb::WriteContentRequest Req(cpb::WriteAction action, int64_t offset = 0, std::string data = "") {
  cpb::WriteContentRequest r;
  r.set_action(action);
  r.set_offset(offset);
  r.set_data(std::move(data));
  return r;
}

// Writes all of `data` under `ref` and commits; returns the final status.
grpc::Status WriteAll(cpb::Content::Stub& stub, const std::string& ns, const std::string& ref,
                      const std::string& data, std::map<std::string, std::string> labels = {},
                      const std::string& lease = "", std::string expected = "") {
  auto ctx = In(ns, lease);
  auto stream = stub.Write(ctx.get());
  cpb::WriteContentRequest r = Req(cpb::COMMIT, 0, data);
  r.set_ref(ref);
  r.set_total(static_cast<int64_t>(data.size()));
  r.set_expected(expected.empty() ? Sha256Of(data).ToString() : expected);
  r.mutable_labels()->insert(labels.begin(), labels.end());
  stream->Write(r);
  stream->WritesDone();
  cpb::WriteContentResponse resp;
  while (stream->Read(&resp)) {
  }
  return stream->Finish();
}

std::string ReadBlob(cpb::Content::Stub& stub, const std::string& ns, const std::string& digest,
                     int64_t offset = 0, int64_t size = 0, int* chunks = nullptr) {
  auto ctx = In(ns);
  cpb::ReadContentRequest req;
  req.set_digest(digest);
  req.set_offset(offset);
  req.set_size(size);
  auto reader = stub.Read(ctx.get(), req);
  cpb::ReadContentResponse resp;
  std::string out;
  int n = 0;
  while (reader->Read(&resp)) {
    EXPECT_EQ(resp.offset(), offset + static_cast<int64_t>(out.size())) << "continuity";
    out += resp.data();
    ++n;
  }
  grpc::Status st = reader->Finish();
  EXPECT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  if (chunks != nullptr) *chunks = n;
  return out;
}

TEST(Content, InterruptedWriteResumesByRefAndEverythingIsPerNamespace) {
  Daemon d;
  auto content = cpb::Content::NewStub(d.channel);
  auto leases = lpb::Leases::NewStub(d.channel);

  // A lease in team-a protects the blob as it comes in (no image holds it yet).
  lpb::CreateRequest lreq;
  lreq.set_id("pull-1");
  (*lreq.mutable_labels())["owner"] = "e2e";
  lpb::CreateResponse lresp;
  ASSERT_TRUE(leases->Create(In("team-a").get(), lreq, &lresp).ok());
  EXPECT_EQ(lresp.lease().id(), "pull-1");

  const std::string data = Pattern(3 * 1024 * 1024 + 17);
  const std::string digest = Sha256Of(data).ToString();
  const size_t half = 1536 * 1024 + 5;
  {
    // First attempt: half the data, then the connection breaks.
    auto ctx = In("team-a", "pull-1");
    auto stream = content->Write(ctx.get());
    cpb::WriteContentRequest r = Req(cpb::WRITE, 0, data.substr(0, half));
    r.set_ref("layer-ref");
    r.set_total(static_cast<int64_t>(data.size()));
    r.set_expected(digest);
    ASSERT_TRUE(stream->Write(r));
    cpb::WriteContentResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    EXPECT_EQ(resp.offset(), static_cast<int64_t>(half));
    ctx->TryCancel();
    stream->Finish();
  }
  // The server lets go of the ref once it sees the cancellation.
  cpb::StatusResponse st;
  for (int i = 0; i < 100; ++i) {
    cpb::ListStatusesResponse all;
    ASSERT_TRUE(content->ListStatuses(In("team-a").get(), {}, &all).ok());
    ASSERT_EQ(all.statuses_size(), 1);
    cpb::StatusRequest sreq;
    sreq.set_ref("layer-ref");
    ASSERT_TRUE(content->Status(In("team-a").get(), sreq, &st).ok());
    EXPECT_EQ(st.status().expected(), digest);
    // team-b has no such ingest.
    EXPECT_EQ(content->Status(In("team-b").get(), sreq, &st).error_code(),
              grpc::StatusCode::NOT_FOUND);
    ASSERT_TRUE(content->Status(In("team-a").get(), sreq, &st).ok());
    if (st.status().offset() == static_cast<int64_t>(half)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(st.status().offset(), static_cast<int64_t>(half));

  // Second attempt: STAT, send the rest from where the server is, COMMIT.
  grpc::Status done;
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto ctx = In("team-a", "pull-1");
    auto stream = content->Write(ctx.get());
    cpb::WriteContentRequest stat = Req(cpb::STAT);
    stat.set_ref("layer-ref");
    stream->Write(stat);
    cpb::WriteContentResponse resp;
    if (!stream->Read(&resp)) {
      done = stream->Finish();
      if (done.error_code() == grpc::StatusCode::UNAVAILABLE) {  // the old stream still holds it
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      break;
    }
    EXPECT_EQ(resp.offset(), static_cast<int64_t>(half));
    EXPECT_EQ(resp.total(), static_cast<int64_t>(data.size()));
    EXPECT_EQ(resp.digest(), Sha256Of(data.substr(0, half)).ToString());
    cpb::WriteContentRequest commit = Req(cpb::COMMIT, resp.offset(), data.substr(resp.offset()));
    (*commit.mutable_labels())["kind"] = "layer";
    stream->Write(commit);
    stream->WritesDone();
    ASSERT_TRUE(stream->Read(&resp));
    EXPECT_EQ(resp.action(), cpb::COMMIT);
    EXPECT_EQ(resp.digest(), digest);
    EXPECT_EQ(resp.offset(), static_cast<int64_t>(data.size()));
    done = stream->Finish();
    break;
  }
  ASSERT_TRUE(done.ok()) << done.error_message();
  EXPECT_TRUE(d.BlobOnDisk(data));

  // Read: whole (in 1 MiB chunks) and a range.
  int chunks = 0;
  EXPECT_TRUE(ReadBlob(*content, "team-a", digest, 0, 0, &chunks) == data);
  EXPECT_EQ(chunks, 4);
  EXPECT_TRUE(ReadBlob(*content, "team-a", digest, 1000000, 12345) == data.substr(1000000, 12345));

  // Info and List see it in team-a only.
  cpb::InfoRequest ireq;
  ireq.set_digest(digest);
  cpb::InfoResponse info;
  ASSERT_TRUE(content->Info(In("team-a").get(), ireq, &info).ok());
  EXPECT_EQ(info.info().size(), static_cast<int64_t>(data.size()));
  EXPECT_EQ(info.info().labels().at("kind"), "layer");
  grpc::Status missing = content->Info(In("team-b").get(), ireq, &info);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.error_message(), "content " + digest + " not found in namespace \"team-b\"");

  ASSERT_TRUE(WriteAll(*content, "team-a", "config-ref", "{\"config\":1}",
                       {{"berth.io/gc.root", ""}, {"kind", "config"}})
                  .ok());
  auto list = [&](const std::string& ns, const std::string& filter) {
    cpb::ListContentRequest req;
    if (!filter.empty()) req.add_filters(filter);
    auto ctx = In(ns);
    auto reader = content->List(ctx.get(), req);
    std::vector<std::string> digests;
    cpb::ListContentResponse resp;
    while (reader->Read(&resp)) {
      for (const cpb::Info& i : resp.info()) digests.push_back(i.digest());
    }
    EXPECT_TRUE(reader->Finish().ok());
    return digests;
  };
  EXPECT_EQ(list("team-a", "").size(), 2u);
  EXPECT_EQ(list("team-a", "labels.kind==layer"), std::vector<std::string>{digest});
  EXPECT_EQ(list("team-a", "digest==" + digest + ",size==1"), std::vector<std::string>{});
  EXPECT_TRUE(list("team-b", "").empty());

  // Leases are per namespace too; the blob joined pull-1 through berth-lease.
  lpb::ListResponse ls;
  ASSERT_TRUE(leases->List(In("team-b").get(), {}, &ls).ok());
  EXPECT_EQ(ls.leases_size(), 0);
  lpb::ListRequest lf;
  lf.add_filters("labels.owner==e2e");
  ASSERT_TRUE(leases->List(In("team-a").get(), lf, &ls).ok());
  ASSERT_EQ(ls.leases_size(), 1);
  lpb::ListResourcesRequest rreq;
  rreq.set_id("pull-1");
  lpb::ListResourcesResponse res;
  ASSERT_TRUE(leases->ListResources(In("team-a").get(), rreq, &res).ok());
  ASSERT_EQ(res.resources_size(), 1);
  EXPECT_EQ(res.resources(0).type(), "content");
  EXPECT_EQ(res.resources(0).id(), digest);
  EXPECT_EQ(leases->ListResources(In("team-b").get(), rreq, &res).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // The same bytes committed in team-b share the file; deleting them in team-a keeps it.
  ASSERT_TRUE(
      WriteAll(*content, "team-b", "b-config", "{\"config\":1}", {{"berth.io/gc.root", ""}}).ok());
  cpb::DeleteContentRequest del;
  del.set_digest(Sha256Of("{\"config\":1}").ToString());
  ASSERT_TRUE(content->Delete(In("team-a").get(), del, &empty).ok());
  EXPECT_EQ(list("team-a", ""), std::vector<std::string>{digest});
  EXPECT_TRUE(d.BlobOnDisk("{\"config\":1}"));
  EXPECT_EQ(content->Delete(In("team-a").get(), del, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Releasing the lease with sync collects the layer at once.
  EXPECT_TRUE(d.BlobOnDisk(data));
  lpb::DeleteRequest ldel;
  ldel.set_id("pull-1");
  ldel.set_sync(true);
  ASSERT_TRUE(leases->Delete(In("team-a").get(), ldel, &empty).ok());
  EXPECT_FALSE(d.BlobOnDisk(data));
  EXPECT_TRUE(list("team-a", "").empty());
  EXPECT_TRUE(d.BlobOnDisk("{\"config\":1}")) << "team-b still holds it";

  EXPECT_EQ(d.Stop(SIGTERM), 0) << d.Stderr();
}

TEST(Content, BadWritesStoreNothingAndSayWhy) {
  Daemon d;
  auto content = cpb::Content::NewStub(d.channel);
  const std::string wrong = Sha256Of("not these bytes").ToString();
  grpc::Status st = WriteAll(*content, "default", "bad", "these bytes", {}, "", wrong);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("digest mismatch: expected " + wrong + ", got " +
                                    Sha256Of("these bytes").ToString()),
            std::string::npos)
      << st.error_message();
  EXPECT_FALSE(d.BlobOnDisk("these bytes"));
  cpb::ListStatusesResponse statuses;
  ASSERT_TRUE(content->ListStatuses(In("default").get(), {}, &statuses).ok());
  EXPECT_EQ(statuses.statuses_size(), 0);

  // A second commit of the same digest in one namespace is ALREADY_EXISTS.
  ASSERT_TRUE(WriteAll(*content, "default", "one", "dup", {{"berth.io/gc.root", ""}}).ok());
  EXPECT_EQ(WriteAll(*content, "default", "two", "dup").error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  // Data at the wrong offset is refused; Abort drops the ingest.
  {
    auto ctx = In("default");
    auto stream = content->Write(ctx.get());
    cpb::WriteContentRequest r = Req(cpb::WRITE, 0, "abc");
    r.set_ref("gappy");
    stream->Write(r);
    stream->Write(Req(cpb::WRITE, 10, "xyz"));
    stream->WritesDone();
    cpb::WriteContentResponse resp;
    while (stream->Read(&resp)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::OUT_OF_RANGE);
  }
  cpb::AbortRequest abort;
  abort.set_ref("gappy");
  EXPECT_TRUE(content->Abort(In("default").get(), abort, &empty).ok());
  EXPECT_EQ(content->Abort(In("default").get(), abort, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // A bad namespace, a bad digest, a read past the end.
  cpb::InfoRequest ireq;
  ireq.set_digest(Sha256Of("dup").ToString());
  cpb::InfoResponse info;
  EXPECT_EQ(content->Info(In("../etc").get(), ireq, &info).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  ireq.set_digest("sha256:../../etc/passwd");
  EXPECT_EQ(content->Info(In("default").get(), ireq, &info).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  cpb::ReadContentRequest rreq;
  rreq.set_digest(Sha256Of("dup").ToString());
  rreq.set_offset(4);
  auto ctx = In("default");
  auto reader = content->Read(ctx.get(), rreq);
  cpb::ReadContentResponse chunk;
  EXPECT_FALSE(reader->Read(&chunk));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::OUT_OF_RANGE);
}

TEST(Content, BlobsAndLeasesSurviveARestart) {
  Daemon d;
  {
    auto content = cpb::Content::NewStub(d.channel);
    ASSERT_TRUE(WriteAll(*content, "default", "r", "kept", {{"berth.io/gc.root", ""}}).ok());
    lpb::CreateRequest lreq;
    lreq.set_id("long");
    lpb::CreateResponse lresp;
    ASSERT_TRUE(lpb::Leases::NewStub(d.channel)->Create(In("default").get(), lreq, &lresp).ok());
    ASSERT_EQ(d.Stop(SIGTERM), 0) << d.Stderr();
  }
  // A channel still open to the old daemon would lend its broken connection to the new one.
  d.channel.reset();
  ASSERT_TRUE(d.Start()) << d.Stderr();
  auto channel = d.Channel();
  auto content = cpb::Content::NewStub(channel);
  EXPECT_EQ(ReadBlob(*content, "default", Sha256Of("kept").ToString()), "kept") << d.Stderr();
  lpb::ListResponse ls;
  ASSERT_TRUE(lpb::Leases::NewStub(channel)->List(In("default").get(), {}, &ls).ok());
  ASSERT_EQ(ls.leases_size(), 1);
  EXPECT_EQ(ls.leases(0).id(), "long");
}

// Starts `ref` in `ns` with a few bytes and drops the connection; returns once the server has
// let go of it.
void AbandonIngest(cpb::Content::Stub& stub, const std::string& ns, const std::string& ref) {
  {
    auto ctx = In(ns);
    auto stream = stub.Write(ctx.get());
    cpb::WriteContentRequest r = Req(cpb::WRITE, 0, "partial");
    r.set_ref(ref);
    ASSERT_TRUE(stream->Write(r));
    cpb::WriteContentResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    ctx->TryCancel();
    stream->Finish();
  }
  for (int i = 0; i < 100; ++i) {
    cpb::StatusRequest sreq;
    sreq.set_ref(ref);
    cpb::StatusResponse st;
    ASSERT_TRUE(stub.Status(In(ns).get(), sreq, &st).ok());
    if (st.status().offset() == 7) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "ingest " << ref << " never reached 7 bytes";
}

int Ingests(cpb::Content::Stub& stub, const std::string& ns = "default") {
  cpb::ListStatusesResponse all;
  EXPECT_TRUE(stub.ListStatuses(In(ns).get(), {}, &all).ok());
  return all.statuses_size();
}

TEST(Content, AbandonedIngestsExpireAtCollectionAndAtStart) {
  const std::string dir = MakeTempDir("expiry");
  const std::string config = dir + "/config.yaml";
  FILE* f = fopen(config.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("ingest_expiry: 1s\n", f);
  fclose(f);
  TestDaemon d({"--config", config});
  ASSERT_TRUE(d.started()) << d.Stderr();
  {
    auto content = cpb::Content::NewStub(d.Channel());
    AbandonIngest(*content, "default", "stale-1");
    EXPECT_EQ(Ingests(*content), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    // Any collection takes it: here the one that follows a delete.
    ASSERT_TRUE(WriteAll(*content, "default", "r", "blob").ok());
    cpb::DeleteContentRequest del;
    del.set_digest(Sha256Of("blob").ToString());
    ASSERT_TRUE(content->Delete(In("default").get(), del, &empty).ok());
    EXPECT_EQ(Ingests(*content), 0);

    AbandonIngest(*content, "default", "stale-2");
    d.Stop(SIGTERM);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_TRUE(d.Start()) << d.Stderr();
  auto content = cpb::Content::NewStub(d.Channel());
  EXPECT_EQ(Ingests(*content), 0) << d.Stderr();
  // One younger than the expiry stays through a collection.
  AbandonIngest(*content, "default", "fresh");
  ASSERT_TRUE(WriteAll(*content, "default", "r", "blob").ok());
  cpb::DeleteContentRequest del;
  del.set_digest(Sha256Of("blob").ToString());
  ASSERT_TRUE(content->Delete(In("default").get(), del, &empty).ok());
  EXPECT_EQ(Ingests(*content), 1);
}

}  // namespace
}  // namespace berth::e2e
