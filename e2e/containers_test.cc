// The containers service end to end: records created, found by id, name or prefix, listed
// with filters, updated by field mask and deleted, each namespace on its own.
#include <gtest/gtest.h>

#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "e2e/harness/daemon.h"

namespace berth::e2e {
namespace {

namespace pb = berth::services::containers::v1;

class Containers : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(d_.started()) << d_.Stderr();
    stub_ = pb::Containers::NewStub(d_.Channel());
  }
  grpc::Status Create(const std::string& id, const std::string& name, const std::string& ns,
                      pb::Container* out = nullptr) {
    pb::CreateContainerRequest req;
    req.mutable_container()->set_id(id);
    req.mutable_container()->set_name(name);
    req.mutable_container()->set_image("docker.io/library/busybox:latest");
    req.mutable_container()->mutable_runtime()->set_name("berth-runtime");
    req.mutable_container()->set_spec(R"({"ociVersion":"1.0.2"})");
    (*req.mutable_container()->mutable_labels())["tier"] = id == "web1" ? "front" : "back";
    pb::CreateContainerResponse resp;
    grpc::Status st = stub_->Create(TestDaemon::Context(ns).get(), req, &resp);
    if (out != nullptr) *out = resp.container();
    return st;
  }
  pb::Container Get(const std::string& ref, const std::string& ns, grpc::Status* st) {
    pb::GetContainerRequest req;
    req.set_id(ref);
    pb::GetContainerResponse resp;
    *st = stub_->Get(TestDaemon::Context(ns).get(), req, &resp);
    return resp.container();
  }

  TestDaemon d_;
  std::unique_ptr<pb::Containers::Stub> stub_;
};

TEST_F(Containers, CreateGetByIdNameOrPrefix) {
  pb::Container made;
  ASSERT_TRUE(Create("web1", "web", "default", &made).ok());
  EXPECT_GT(made.created_at().seconds(), 0);
  grpc::Status st;
  EXPECT_EQ(Get("web1", "default", &st).name(), "web");
  EXPECT_EQ(Get("web", "default", &st).id(), "web1");
  EXPECT_EQ(Get("we", "default", &st).id(), "web1") << "unique prefix of the id";
  EXPECT_EQ(Get("web1", "default", &st).spec(), R"({"ociVersion":"1.0.2"})");
  Get("nope", "default", &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("no such container: \"nope\""), std::string::npos);
}

TEST_F(Containers, IdsAndNamesAreUniquePerNamespace) {
  ASSERT_TRUE(Create("a1", "app", "default").ok());
  grpc::Status dup_id = Create("a1", "other", "default");
  EXPECT_EQ(dup_id.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(dup_id.error_message().find("container \"a1\" already exists"), std::string::npos)
      << dup_id.error_message();
  grpc::Status dup_name = Create("a2", "app", "default");
  EXPECT_EQ(dup_name.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(dup_name.error_message().find("the name \"app\" is already in use"), std::string::npos)
      << dup_name.error_message();
  EXPECT_TRUE(Create("a1", "app", "tenant-b").ok()) << "another namespace is another world";
  grpc::Status st;
  Get("a2", "default", &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << "nothing stored by the refusal";
}

TEST_F(Containers, BadIdsAndNamesAreRefused) {
  for (const char* bad : {"", "../x", "-a", "a b", "ünicode"}) {
    grpc::Status st = Create(bad, "ok", "default");
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
  }
  EXPECT_EQ(Create("ok1", "no/slash", "default").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(Containers, ListFiltersUpdateAndDelete) {
  ASSERT_TRUE(Create("web1", "web", "default").ok());
  ASSERT_TRUE(Create("db1", "db", "default").ok());
  pb::ListContainersRequest list;
  list.add_filters("labels.tier==front");
  pb::ListContainersResponse listed;
  ASSERT_TRUE(stub_->List(TestDaemon::Context().get(), list, &listed).ok());
  ASSERT_EQ(listed.containers_size(), 1);
  EXPECT_EQ(listed.containers(0).id(), "web1");

  pb::UpdateContainerRequest up;
  up.mutable_container()->set_id("db1");
  up.mutable_container()->set_name("database");
  (*up.mutable_container()->mutable_labels())["tier"] = "data";
  up.mutable_update_mask()->add_paths("name");
  up.mutable_update_mask()->add_paths("labels.tier");
  pb::UpdateContainerResponse updated;
  ASSERT_TRUE(stub_->Update(TestDaemon::Context().get(), up, &updated).ok());
  EXPECT_EQ(updated.container().name(), "database");
  EXPECT_EQ(updated.container().labels().at("tier"), "data");
  EXPECT_EQ(updated.container().image(), "docker.io/library/busybox:latest") << "not in the mask";
  up.mutable_update_mask()->add_paths("snapshotter");
  EXPECT_EQ(stub_->Update(TestDaemon::Context().get(), up, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  pb::DeleteContainerRequest del;
  del.set_id("database");
  google::protobuf::Empty empty;
  ASSERT_TRUE(stub_->Delete(TestDaemon::Context().get(), del, &empty).ok());
  grpc::Status st;
  Get("db1", "default", &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(Containers, RecordsSurviveARestart) {
  ASSERT_TRUE(Create("keep1", "keep", "default").ok());
  stub_.reset();  // an old channel would lend its dead connection to the new one
  ASSERT_TRUE(d_.Restart()) << d_.Stderr();
  stub_ = pb::Containers::NewStub(d_.Channel());
  grpc::Status st;
  EXPECT_EQ(Get("keep", "default", &st).id(), "keep1") << st.error_message();
}

}  // namespace
}  // namespace berth::e2e
