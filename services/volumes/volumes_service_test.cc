// The volumes service over a real metadata store and containers service, in process: create,
// inspect, list filters, in-use refusal, prune, namespaces. No root needed.
#include "services/volumes/volumes_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "services/containers/containers_service.h"

namespace berth::services {
namespace {

namespace vpb = ::berth::services::volumes::v1;
namespace cpb = ::berth::services::containers::v1;

class VolumesServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    char tmpl[256];
    snprintf(tmpl, sizeof(tmpl), "%s/volsvcXXXXXX", tmp ? tmp : "/tmp");
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    absl::StatusOr<std::shared_ptr<metadata::MetadataStore>> md =
        metadata::MetadataStore::Open(root_);
    ASSERT_TRUE(md.ok()) << md.status();
    containers_ = std::make_unique<ContainersService>(*md);
    volumes_ = std::make_unique<VolumesService>(*md, root_, [this](const std::string& name) {
      return name == "containers" ? channel_ : nullptr;
    });
    grpc::ServerBuilder b;
    b.RegisterService(containers_.get());
    b.RegisterService(volumes_.get());
    server_ = b.BuildAndStart();
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
    stub_ = vpb::Volumes::NewStub(channel_);
  }
  void TearDown() override {
    server_->Shutdown();
    std::system(("rm -rf " + root_).c_str());
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& ns = "default") {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("berth-namespace", ns);
    return ctx;
  }
  grpc::Status Create(const std::string& name, vpb::Volume* out = nullptr,
                      const std::string& driver = "",
                      std::map<std::string, std::string> options = {},
                      const std::string& ns = "default") {
    vpb::CreateVolumeRequest req;
    req.set_name(name);
    req.set_driver(driver);
    req.mutable_options()->insert(options.begin(), options.end());
    (*req.mutable_labels())["env"] = "test";
    vpb::CreateVolumeResponse resp;
    grpc::Status st = stub_->Create(Ctx(ns).get(), req, &resp);
    if (out != nullptr) *out = resp.volume();
    return st;
  }
  std::vector<std::string> List(std::vector<std::string> filters = {},
                                const std::string& ns = "default") {
    vpb::ListVolumesRequest req;
    for (const std::string& f : filters) req.add_filters(f);
    vpb::ListVolumesResponse resp;
    EXPECT_TRUE(stub_->List(Ctx(ns).get(), req, &resp).ok());
    std::vector<std::string> out;
    for (const vpb::Volume& v : resp.volumes()) out.push_back(v.name());
    return out;
  }
  grpc::Status Remove(const std::string& name, bool force = false) {
    vpb::RemoveVolumeRequest req;
    req.set_name(name);
    req.set_force(force);
    google::protobuf::Empty e;
    return stub_->Remove(Ctx().get(), req, &e);
  }
  vpb::PruneVolumesResponse Prune(std::vector<std::string> filters = {}) {
    vpb::PruneVolumesRequest req;
    for (const std::string& f : filters) req.add_filters(f);
    vpb::PruneVolumesResponse resp;
    EXPECT_TRUE(stub_->Prune(Ctx().get(), req, &resp).ok());
    return resp;
  }
  void AddContainer(const std::string& id, const std::string& volumes_label,
                    const std::string& bind_source) {
    cpb::CreateContainerRequest req;
    cpb::Container* c = req.mutable_container();
    c->set_id(id);
    c->mutable_runtime()->set_name("berth-runtime");
    if (!volumes_label.empty()) (*c->mutable_labels())["berth.io/volumes"] = volumes_label;
    if (!bind_source.empty()) {
      c->set_spec(R"({"mounts":[{"destination":"/d","type":"bind","source":")" + bind_source +
                  R"(","options":["rbind"]}]})");
    }
    cpb::CreateContainerResponse resp;
    ASSERT_TRUE(cpb::Containers::NewStub(channel_)->Create(Ctx().get(), req, &resp).ok());
  }
  void DeleteContainer(const std::string& id) {
    cpb::DeleteContainerRequest req;
    req.set_id(id);
    google::protobuf::Empty e;
    ASSERT_TRUE(cpb::Containers::NewStub(channel_)->Delete(Ctx().get(), req, &e).ok());
  }

  std::string root_;
  std::unique_ptr<ContainersService> containers_;
  std::unique_ptr<VolumesService> volumes_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<vpb::Volumes::Stub> stub_;
};

TEST_F(VolumesServiceTest, CreateNamedAndAnonymous) {
  vpb::Volume v;
  ASSERT_TRUE(Create("data", &v).ok());
  EXPECT_EQ(v.driver(), "local");
  EXPECT_EQ(v.mountpoint(), root_ + "/volumes/default/data/_data");
  EXPECT_FALSE(v.anonymous());
  struct stat st;
  EXPECT_EQ(stat(v.mountpoint().c_str(), &st), 0);
  ASSERT_TRUE(Create("data", &v).ok());  // exists: returned as it is

  vpb::Volume anon;
  ASSERT_TRUE(Create("", &anon).ok());
  EXPECT_EQ(anon.name().size(), 64u);
  EXPECT_TRUE(anon.anonymous());

  grpc::Status st2 = Create("x1", nullptr, "nfs");
  EXPECT_EQ(st2.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st2.error_message().find("volume driver \"nfs\" is not available"), std::string::npos);
  st2 = Create("x2", nullptr, "", {{"colour", "red"}});
  EXPECT_EQ(st2.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  st2 = Create("a");
  EXPECT_EQ(st2.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  st2 = Create("../up");
  EXPECT_EQ(st2.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(List().size(), 2u);

  vpb::InspectVolumeRequest ir;
  ir.set_name("nope");
  vpb::InspectVolumeResponse iresp;
  grpc::Status ist = stub_->Inspect(Ctx().get(), ir, &iresp);
  EXPECT_EQ(ist.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ist.error_message(), "No such volume: nope");
}

TEST_F(VolumesServiceTest, InUseByLabelOrSpecIsRefusedAndNotPruned) {
  vpb::Volume data, anon, free;
  ASSERT_TRUE(Create("data", &data).ok());
  ASSERT_TRUE(Create("", &anon).ok());
  ASSERT_TRUE(Create("free", &free).ok());
  AddContainer("c1", "data", "");
  AddContainer("c2", "", anon.mountpoint());
  std::ofstream(anon.mountpoint() + "/f") << std::string(50000, 'x');

  grpc::Status st = Remove("data");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message(), "remove data: volume is in use - [c1]");
  EXPECT_EQ(Remove(anon.name()).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(List({"dangling==true"}), std::vector<std::string>{"free"});
  EXPECT_EQ(List({"name~=^d"}), std::vector<std::string>{"data"});
  EXPECT_EQ(List({"labels.\"env\"==test,anonymous==true"}), std::vector<std::string>{anon.name()});

  EXPECT_EQ(Prune().removed_size(), 0);  // the only anonymous one is in use
  DeleteContainer("c2");
  vpb::PruneVolumesResponse p = Prune();
  ASSERT_EQ(p.removed_size(), 1);
  EXPECT_EQ(p.removed(0), anon.name());
  EXPECT_GE(p.reclaimed_bytes(), 50000u);
  struct stat sb;
  EXPECT_NE(stat(anon.mountpoint().c_str(), &sb), 0);

  p = Prune({"all==true"});
  ASSERT_EQ(p.removed_size(), 1);
  EXPECT_EQ(p.removed(0), "free");
  EXPECT_EQ(List(), std::vector<std::string>{"data"});

  EXPECT_TRUE(Remove("data", /*force=*/true).ok());
  EXPECT_TRUE(Remove("data", /*force=*/true).ok());  // gone: fine with force
  EXPECT_EQ(Remove("data").error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(VolumesServiceTest, NamespacesAreSeparate) {
  ASSERT_TRUE(Create("same").ok());
  vpb::Volume other;
  ASSERT_TRUE(Create("same", &other, "", {}, "other").ok());
  EXPECT_EQ(other.mountpoint(), root_ + "/volumes/other/same/_data");
  EXPECT_TRUE(Remove("same").ok());
  EXPECT_TRUE(List().empty());
  EXPECT_EQ(List({}, "other"), std::vector<std::string>{"same"});
}

}  // namespace
}  // namespace berth::services
