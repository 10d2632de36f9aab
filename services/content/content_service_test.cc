// The Write protocol and error mapping of the content service, on an in-process gRPC server
// over the real local store.
#include "services/content/content_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/content/local/testing.h"

namespace berth::services {
namespace {

namespace pb = berth::services::content::v1;

class ContentServiceTest : public testing::Test {
 protected:
  void SetUp() override {
    t_ = ::berth::content::local::TestStore::Make();
    service_ = std::make_unique<ContentService>(t_->store, [this] {
      ++collections_;
      return t_->gc->Collect().status();
    });
    grpc::ServerBuilder b;
    b.RegisterService(service_.get());
    // A real socket: gRPC's in-process transport has no buffers, so a client that writes all
    // its messages before reading (as Write() below does) would wait on the server forever.
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    server_ = b.BuildAndStart();
    stub_ = pb::Content::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(); }

  // Sends `reqs` on one Write stream; returns the responses and the final status.
  grpc::Status Write(const std::vector<pb::WriteContentRequest>& reqs,
                     std::vector<pb::WriteContentResponse>* out = nullptr,
                     const std::string& ns = "default") {
    grpc::ClientContext ctx;
    ctx.AddMetadata("berth-namespace", ns);
    auto stream = stub_->Write(&ctx);
    for (const auto& r : reqs) stream->Write(r);
    stream->WritesDone();
    pb::WriteContentResponse resp;
    while (stream->Read(&resp)) {
      if (out != nullptr) out->push_back(resp);
    }
    return stream->Finish();
  }

  static pb::WriteContentRequest Req(pb::WriteAction a, const std::string& ref, int64_t offset,
                                     const std::string& data) {
    pb::WriteContentRequest r;
    r.set_action(a);
    r.set_ref(ref);
    r.set_offset(offset);
    r.set_data(data);
    return r;
  }

  std::unique_ptr<::berth::content::local::TestStore> t_;
  std::unique_ptr<ContentService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::Content::Stub> stub_;
  int collections_ = 0;
};

TEST_F(ContentServiceTest, WriteStatCommitAnswersEachMessage) {
  std::vector<pb::WriteContentResponse> out;
  pb::WriteContentRequest first = Req(pb::WRITE, "r", 0, "hello ");
  first.set_total(11);
  grpc::Status st = Write({first, Req(pb::STAT, "", 0, ""), Req(pb::COMMIT, "", 6, "world")}, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].action(), pb::WRITE);
  EXPECT_EQ(out[0].offset(), 6);
  EXPECT_EQ(out[0].total(), 11);
  EXPECT_EQ(out[1].action(), pb::STAT);
  EXPECT_EQ(out[1].digest(), Sha256Of("hello ").ToString());
  EXPECT_EQ(out[2].action(), pb::COMMIT);
  EXPECT_EQ(out[2].digest(), Sha256Of("hello world").ToString());
  EXPECT_EQ(out[2].offset(), 11);
}

TEST_F(ContentServiceTest, ProtocolErrorsAreInvalidArgumentOrOutOfRange) {
  EXPECT_EQ(Write({Req(pb::WRITE, "", 0, "x")}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Write({Req(pb::WRITE, "a", 0, "x"), Req(pb::WRITE, "b", 1, "y")}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  pb::WriteContentRequest bad = Req(pb::WRITE, "c", 0, "x");
  bad.set_action(static_cast<pb::WriteAction>(42));
  EXPECT_EQ(Write({bad}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status gap = Write({Req(pb::WRITE, "d", 5, "x")});
  EXPECT_EQ(gap.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_NE(gap.error_message().find("data at offset 5, but the ingest has 0 bytes"),
            std::string::npos)
      << gap.error_message();
  pb::WriteContentRequest bad_digest = Req(pb::STAT, "e", 0, "");
  bad_digest.set_expected("md5:abc");
  EXPECT_EQ(Write({bad_digest}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(Write({}).ok()) << "an empty stream asks nothing";
}

TEST_F(ContentServiceTest, OffsetZeroStartsOverAndAnEmptyCommitKeepsTheData) {
  ASSERT_TRUE(Write({Req(pb::WRITE, "r", 0, "wrong")}).ok());
  pb::WriteContentRequest commit = Req(pb::COMMIT, "r", 0, "");
  commit.set_expected(Sha256Of("right").ToString());
  ASSERT_TRUE(Write({Req(pb::WRITE, "r", 0, "right"), commit}).ok());
}

TEST_F(ContentServiceTest, DeleteCollectsAndBadRequestsSayWhy) {
  pb::WriteContentRequest commit = Req(pb::COMMIT, "r", 0, "data");
  ASSERT_TRUE(Write({commit}).ok());
  grpc::ClientContext ctx;
  pb::DeleteContentRequest del;
  del.set_digest(Sha256Of("data").ToString());
  google::protobuf::Empty empty;
  ASSERT_TRUE(stub_->Delete(&ctx, del, &empty).ok());
  EXPECT_EQ(collections_, 1);

  grpc::ClientContext bad_ns;
  bad_ns.AddMetadata("berth-namespace", "-bad");
  pb::InfoRequest info;
  info.set_digest(Sha256Of("data").ToString());
  pb::InfoResponse resp;
  grpc::Status st = stub_->Info(&bad_ns, info, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("invalid namespace \"-bad\""), std::string::npos);

  grpc::ClientContext two;
  two.AddMetadata("berth-namespace", "a");
  two.AddMetadata("berth-namespace", "b");
  EXPECT_EQ(stub_->Info(&two, info, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext bad_digest;
  info.set_digest("sha256:XYZ");
  st = stub_->Info(&bad_digest, info, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("content Info: invalid digest"), std::string::npos)
      << st.error_message();
}

TEST_F(ContentServiceTest, ListBatchesAndFilters) {
  for (int i = 0; i < 250; ++i) {
    pb::WriteContentRequest r = Req(pb::COMMIT, "r" + std::to_string(i), 0, std::to_string(i));
    (*r.mutable_labels())["parity"] = i % 2 == 0 ? "even" : "odd";
    ASSERT_TRUE(Write({r}).ok());
  }
  auto list = [&](const std::string& filter, int* messages) {
    grpc::ClientContext ctx;
    pb::ListContentRequest req;
    if (!filter.empty()) req.add_filters(filter);
    auto reader = stub_->List(&ctx, req);
    pb::ListContentResponse resp;
    int n = 0;
    *messages = 0;
    while (reader->Read(&resp)) {
      n += resp.info_size();
      ++*messages;
    }
    EXPECT_TRUE(reader->Finish().ok());
    return n;
  };
  int messages = 0;
  EXPECT_EQ(list("", &messages), 250);
  EXPECT_EQ(messages, 3);
  EXPECT_EQ(list("labels.parity==odd", &messages), 125);
  EXPECT_EQ(list("size==3", &messages), 150);  // "100".."249"
  EXPECT_EQ(list("labels.parity==odd,size==1", &messages), 5);
}

}  // namespace
}  // namespace berth::services
