// berthd tenants and requests: namespaces isolate clients; bad ids, names, paths are refused.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/content/v1/content.grpc.pb.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "berth/services/leases/v1/leases.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "berth/services/volumes/v1/volumes.grpc.pb.h"
#include "e2e/harness/daemon.h"
#include "e2e/security_fixture.h"

namespace berth::e2e {
namespace {

namespace cpb = berth::services::containers::v1;
namespace ctpb = berth::services::content::v1;
namespace ipb = berth::services::images::v1;
namespace lpb = berth::services::leases::v1;
namespace spb = berth::services::snapshots::v1;
namespace tpb = berth::services::tasks::v1;
namespace volpb = berth::services::volumes::v1;

using Strings = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Namespaces

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& ns) {
  auto ctx = TestDaemon::Context(ns);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

using NamespaceTest = EngineTest;

TEST_F(NamespaceTest, ATenantNeitherSeesNorTouchesAnothersObjects) {
  const std::string a = "tenant-a", b = "tenant-b";
  Load(a);
  Load(b);  // b has its own busybox: what b may do with its own is not in question
  CommandResult r = Berth({"-n", a, "run", "-d", "--name", "secret", "busybox", "sh", "-c",
                           "echo a-private-line; exec sleep 600"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  started_.push_back({a, "secret"});
  const std::string id(absl::StripAsciiWhitespace(r.out));
  ASSERT_EQ(id.size(), 64u);
  ASSERT_EQ(Berth({"-n", a, "volume", "create", "vol-a"}).exit_code, 0);
  auto channel = daemon_->Channel();
  auto leases = lpb::Leases::NewStub(channel);
  lpb::CreateRequest lease_req;
  lease_req.set_id("lease-a");
  lpb::CreateResponse lease_resp;
  ASSERT_TRUE(leases->Create(Ctx(a).get(), lease_req, &lease_resp).ok());

  // The CLI, as tenant b: by id and by name, nothing of a's is there.
  for (const std::string& ref : {id, std::string("secret"), id.substr(0, 12)}) {
    for (std::vector<std::string> verb :
         std::vector<std::vector<std::string>>{{"inspect", ref},
                                               {"logs", ref},
                                               {"exec", ref, "true"},
                                               {"kill", ref},
                                               {"stop", "-t", "1", ref},
                                               {"pause", ref},
                                               {"rm", "-f", ref},
                                               {"rename", ref, "stolen"},
                                               {"top", ref}}) {
      verb.insert(verb.begin(), {"-n", b});
      CommandResult out = Berth(verb);
      EXPECT_NE(out.exit_code, 0) << absl::StrJoin(verb, " ") << ": " << out.out;
      EXPECT_FALSE(absl::StrContains(out.out, "a-private-line")) << absl::StrJoin(verb, " ");
    }
  }
  r = Berth({"-n", b, "ps", "-a", "-q", "--no-trunc"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(absl::StrContains(r.out, id)) << r.out;
  r = Berth({"-n", b, "volume", "ls", "-q"});
  EXPECT_FALSE(absl::StrContains(r.out, "vol-a")) << r.out;
  EXPECT_NE(Berth({"-n", b, "volume", "inspect", "vol-a"}).exit_code, 0);
  EXPECT_NE(Berth({"-n", b, "volume", "rm", "vol-a"}).exit_code, 0);
  Berth({"-n", b, "volume", "rm", "-f", "vol-a"});  // -f: no error for a missing volume
  EXPECT_EQ(Berth({"-n", b, "container", "prune", "-f"}).exit_code, 0);
  EXPECT_EQ(Berth({"-n", b, "volume", "prune", "-f", "-a"}).exit_code, 0);

  // The API, as tenant b.
  auto tasks = tpb::Tasks::NewStub(channel);
  google::protobuf::Empty empty;
  {
    tpb::GetRequest req;
    req.set_container_id(id);
    tpb::GetResponse resp;
    EXPECT_EQ(tasks->Get(Ctx(b).get(), req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
    tpb::KillRequest kill;
    kill.set_container_id(id);
    kill.set_signal(SIGKILL);
    EXPECT_EQ(tasks->Kill(Ctx(b).get(), kill, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
    tpb::ExecProcessRequest exec;
    exec.set_container_id(id);
    exec.set_exec_id("intrude");
    exec.set_spec(R"({"args":["true"],"cwd":"/"})");
    EXPECT_EQ(tasks->Exec(Ctx(b).get(), exec, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
    tpb::DeleteTaskRequest del;
    del.set_container_id(id);
    tpb::DeleteResponse dresp;
    EXPECT_EQ(tasks->Delete(Ctx(b).get(), del, &dresp).error_code(), grpc::StatusCode::NOT_FOUND);
    tpb::ListTasksRequest list;
    tpb::ListTasksResponse lresp;
    ASSERT_TRUE(tasks->List(Ctx(b).get(), list, &lresp).ok());
    for (const tpb::Process& p : lresp.tasks()) EXPECT_NE(p.container_id(), id);
    tpb::LogsRequest logs;
    logs.set_container_id(id);
    logs.set_stdout(true);
    logs.set_stderr(true);
    auto stream_ctx = Ctx(b);  // outlives the stream
    auto stream = tasks->Logs(stream_ctx.get(), logs);
    tpb::LogsResponse chunk;
    while (stream->Read(&chunk)) ADD_FAILURE() << "b read a log record of a's container";
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    auto containers = cpb::Containers::NewStub(channel);
    cpb::GetContainerRequest get;
    get.set_id(id);
    cpb::GetContainerResponse resp;
    EXPECT_EQ(containers->Get(Ctx(b).get(), get, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
    cpb::DeleteContainerRequest del;
    del.set_id(id);
    EXPECT_EQ(containers->Delete(Ctx(b).get(), del, &empty).error_code(),
              grpc::StatusCode::NOT_FOUND);
    // b may not create a record under a's id and so take it over: ids are per namespace.
  }
  {
    auto snapshots = spb::Snapshots::NewStub(channel);
    spb::StatSnapshotRequest stat;
    stat.set_key(id);
    spb::StatSnapshotResponse sresp;
    ASSERT_TRUE(snapshots->Stat(Ctx(a).get(), stat, &sresp).ok()) << "a's rootfs snapshot";
    EXPECT_EQ(snapshots->Stat(Ctx(b).get(), stat, &sresp).error_code(),
              grpc::StatusCode::NOT_FOUND);
    spb::MountsRequest mounts;
    mounts.set_key(id);
    spb::MountsResponse mresp;
    EXPECT_EQ(snapshots->Mounts(Ctx(b).get(), mounts, &mresp).error_code(),
              grpc::StatusCode::NOT_FOUND);
    spb::RemoveSnapshotRequest rm;
    rm.set_key(id);
    EXPECT_EQ(snapshots->Remove(Ctx(b).get(), rm, &empty).error_code(),
              grpc::StatusCode::NOT_FOUND);
    spb::ListSnapshotsRequest list;
    auto stream_ctx = Ctx(b);  // outlives the stream
    auto stream = snapshots->List(stream_ctx.get(), list);
    spb::ListSnapshotsResponse chunk;
    while (stream->Read(&chunk)) {
      for (const spb::Info& info : chunk.info()) EXPECT_NE(info.name(), id);
    }
    EXPECT_TRUE(stream->Finish().ok());
  }
  {
    lpb::ListRequest list;
    lpb::ListResponse lresp;
    ASSERT_TRUE(leases->List(Ctx(b).get(), list, &lresp).ok());
    for (const lpb::Lease& l : lresp.leases()) EXPECT_NE(l.id(), "lease-a");
    lpb::DeleteRequest del;
    del.set_id("lease-a");
    EXPECT_EQ(leases->Delete(Ctx(b).get(), del, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
    lpb::ListResourcesRequest res;
    res.set_id("lease-a");
    lpb::ListResourcesResponse rresp;
    EXPECT_EQ(leases->ListResources(Ctx(b).get(), res, &rresp).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    // Images: a's tag is a's. b deleting its own busybox leaves a's alone, and an image only a
    // has is invisible to b.
    ASSERT_EQ(Berth({"-n", a, "tag", "busybox", "only-a:1"}).exit_code, 0);
    auto images = ipb::Images::NewStub(channel);
    ipb::GetImageRequest get;
    get.set_name("docker.io/library/only-a:1");
    ipb::GetImageResponse gresp;
    ASSERT_TRUE(images->Get(Ctx(a).get(), get, &gresp).ok());
    const std::string config_digest = gresp.image().target().digest();
    EXPECT_EQ(images->Get(Ctx(b).get(), get, &gresp).error_code(), grpc::StatusCode::NOT_FOUND);
    ipb::DeleteImageRequest del;
    del.set_name("docker.io/library/only-a:1");
    EXPECT_EQ(images->Delete(Ctx(b).get(), del, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_NE(Berth({"-n", b, "rmi", "only-a:1"}).exit_code, 0);
    r = Berth({"-n", b, "images"});
    EXPECT_FALSE(absl::StrContains(r.out, "only-a")) << r.out;
    EXPECT_EQ(Berth({"-n", b, "rmi", "busybox"}).exit_code, 0);
    EXPECT_EQ(Berth({"-n", b, "image", "prune", "-a", "-f"}).exit_code, 0);
    // Content is stored once, but seen per namespace: b, having no image that uses it, sees
    // no such blob, and cannot delete a's.
    auto content = ctpb::Content::NewStub(channel);
    ctpb::InfoRequest info;
    info.set_digest(config_digest);
    ctpb::InfoResponse iresp;
    ASSERT_TRUE(content->Info(Ctx(a).get(), info, &iresp).ok());
    EXPECT_EQ(content->Info(Ctx(b).get(), info, &iresp).error_code(), grpc::StatusCode::NOT_FOUND);
    ctpb::DeleteContentRequest cdel;
    cdel.set_digest(config_digest);
    EXPECT_EQ(content->Delete(Ctx(b).get(), cdel, &empty).error_code(),
              grpc::StatusCode::NOT_FOUND);
    ctpb::ReadContentRequest read;
    read.set_digest(config_digest);
    auto stream_ctx = Ctx(b);  // outlives the stream
    auto stream = content->Read(stream_ctx.get(), read);
    ctpb::ReadContentResponse chunk;
    while (stream->Read(&chunk)) ADD_FAILURE() << "b read a's blob";
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }

  // a's things are all still there, and its container still runs.
  r = Berth({"-n", a, "inspect", "-f", "{{.State.Status}}", "secret"});
  EXPECT_EQ(absl::StripAsciiWhitespace(r.out), "running") << r.err;
  EXPECT_EQ(Berth({"-n", a, "volume", "inspect", "vol-a"}).exit_code, 0);
  r = Berth({"-n", a, "images"});
  EXPECT_TRUE(absl::StrContains(r.out, "only-a")) << r.out;
  r = Berth({"-n", a, "logs", "secret"});
  EXPECT_TRUE(absl::StrContains(r.out, "a-private-line")) << r.out << r.err;
  lpb::ListResponse lresp;
  ASSERT_TRUE(leases->List(Ctx(a).get(), lpb::ListRequest(), &lresp).ok());
  EXPECT_EQ(lresp.leases_size(), 1);
  EXPECT_EQ(Berth({"-n", a, "volume", "rm", "vol-a"}).exit_code, 0);
}

// ---------------------------------------------------------------------------------------------
// Validation

using ValidationTest = EngineTest;

// Over-long, traversing, NUL-carrying and separator-carrying names.
std::vector<std::string> BadNames() {
  return {"../escape",           "..", "a/../../b", "/abs", "a/b", std::string("nul\0byte", 8),
          std::string(300, 'x'), "",   "semi;colon"};
}

std::string Printable(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\0' ? std::string("\\0") : std::string(1, c);
  return out.size() > 40 ? out.substr(0, 40) + "…" : out;
}

TEST_F(ValidationTest, BadNamespacesAreRefused) {
  auto stub = cpb::Containers::NewStub(daemon_->Channel());
  for (const std::string& ns :
       Strings{"../etc", "a/b", "..", std::string(100, 'n'), "-lead", "a..b"}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("berth-namespace", ns);
    cpb::ListContainersRequest req;
    cpb::ListContainersResponse resp;
    EXPECT_EQ(stub->List(&ctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << ns;
  }
}

TEST_F(ValidationTest, BadIdsNamesPathsAndSizesAreInvalidArgument) {
  Load("default");
  auto channel = daemon_->Channel();
  google::protobuf::Empty empty;
  const grpc::StatusCode kInvalid = grpc::StatusCode::INVALID_ARGUMENT;

  auto containers = cpb::Containers::NewStub(channel);
  for (const std::string& bad : BadNames()) {
    cpb::CreateContainerRequest req;
    req.mutable_container()->set_id(bad);
    req.mutable_container()->set_image("docker.io/library/busybox:latest");
    req.mutable_container()->set_spec(R"({"ociVersion":"1.0.2"})");
    cpb::CreateContainerResponse resp;
    EXPECT_EQ(containers->Create(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "container id " << Printable(bad);
  }
  for (const std::string& bad : BadNames()) {
    if (bad.empty()) continue;  // no name is fine: the daemon picks one
    cpb::CreateContainerRequest req;
    req.mutable_container()->set_id(std::string(64, 'a'));
    req.mutable_container()->set_name(bad);
    req.mutable_container()->set_spec(R"({"ociVersion":"1.0.2"})");
    cpb::CreateContainerResponse resp;
    EXPECT_EQ(containers->Create(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "container name " << Printable(bad);
  }

  auto volumes = volpb::Volumes::NewStub(channel);
  for (const std::string& bad : BadNames()) {
    if (bad.empty()) continue;  // no name: an anonymous volume
    volpb::CreateVolumeRequest req;
    req.set_name(bad);
    volpb::CreateVolumeResponse resp;
    EXPECT_EQ(volumes->Create(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "volume " << Printable(bad);
    volpb::InspectVolumeRequest inspect;
    inspect.set_name(bad);
    volpb::InspectVolumeResponse iresp;
    const grpc::StatusCode code =
        volumes->Inspect(Ctx("default").get(), inspect, &iresp).error_code();
    EXPECT_TRUE(code == kInvalid || code == grpc::StatusCode::NOT_FOUND) << Printable(bad);
  }
  {
    volpb::CreateVolumeRequest req;
    req.set_name("sized");
    req.set_driver("local");
    (*req.mutable_options())["type"] = "tmpfs";
    (*req.mutable_options())["device"] = "tmpfs";
    (*req.mutable_options())["o"] = "size=-1";
    volpb::CreateVolumeResponse resp;
    grpc::Status st = volumes->Create(Ctx("default").get(), req, &resp);
    EXPECT_EQ(st.error_code(), kInvalid) << st.error_message();
  }

  auto leases = lpb::Leases::NewStub(channel);
  for (const std::string& bad : Strings{std::string("nul\0id", 6), std::string(300, 'l')}) {
    lpb::CreateRequest req;
    req.set_id(bad);
    lpb::CreateResponse resp;
    EXPECT_EQ(leases->Create(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "lease " << Printable(bad);
  }

  auto snapshots = spb::Snapshots::NewStub(channel);
  for (const std::string& bad : Strings{"../native", "a/b", "..", std::string("nul\0", 4)}) {
    spb::PrepareSnapshotRequest req;
    req.set_snapshotter(bad);
    req.set_key("k");
    spb::PrepareSnapshotResponse resp;
    const grpc::StatusCode code = snapshots->Prepare(Ctx("default").get(), req, &resp).error_code();
    EXPECT_TRUE(code == kInvalid || code == grpc::StatusCode::NOT_FOUND)
        << "snapshotter " << Printable(bad) << ": " << code;
  }
  for (const std::string& bad : Strings{std::string("nul\0key", 7), std::string(5000, 'k')}) {
    spb::PrepareSnapshotRequest req;
    req.set_key(bad);
    spb::PrepareSnapshotResponse resp;
    EXPECT_EQ(snapshots->Prepare(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "snapshot key " << Printable(bad);
  }

  auto content = ctpb::Content::NewStub(channel);
  for (const std::string& bad :
       Strings{"sha256:../../../etc/passwd", "sha256:" + std::string(64, 'g'), "md5:00", "",
               "sha256:" + std::string(63, 'a') + std::string("\0", 1)}) {
    ctpb::InfoRequest req;
    req.set_digest(bad);
    ctpb::InfoResponse resp;
    EXPECT_EQ(content->Info(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "digest " << Printable(bad);
    ctpb::ReadContentRequest read;
    read.set_digest(bad);
    auto stream_ctx = Ctx("default");  // outlives the stream
    auto stream = content->Read(stream_ctx.get(), read);
    ctpb::ReadContentResponse chunk;
    while (stream->Read(&chunk)) ADD_FAILURE() << "read a blob named " << Printable(bad);
    EXPECT_EQ(stream->Finish().error_code(), kInvalid) << "read digest " << Printable(bad);
  }
  {
    // A real blob, read with negative and absurd offsets and sizes.
    ipb::GetImageRequest get;
    get.set_name("docker.io/library/busybox:latest");
    ipb::GetImageResponse img;
    ASSERT_TRUE(ipb::Images::NewStub(channel)->Get(Ctx("default").get(), get, &img).ok());
    for (auto [offset, size] : std::vector<std::pair<int64_t, int64_t>>{
             {-1, 0}, {0, -5}, {INT64_MIN, 1}, {INT64_MAX, 1}}) {
      ctpb::ReadContentRequest read;
      read.set_digest(img.image().target().digest());
      read.set_offset(offset);
      read.set_size(size);
      auto stream_ctx = Ctx("default");  // outlives the stream
      auto stream = content->Read(stream_ctx.get(), read);
      ctpb::ReadContentResponse chunk;
      while (stream->Read(&chunk)) {
      }
      const grpc::StatusCode code = stream->Finish().error_code();
      EXPECT_TRUE(code == kInvalid || code == grpc::StatusCode::OUT_OF_RANGE)
          << "offset " << offset << " size " << size << ": " << code;
    }
  }
  // Refs may hold any bytes (NUL too): the store hashes them into directory names, so a ref is
  // never a path (services/content/local/paths.h). Only no ref, or an absurd one, is refused.
  for (const std::string& bad : Strings{std::string(100000, 'r'), ""}) {
    auto stream_ctx = Ctx("default");  // outlives the stream
    auto stream = content->Write(stream_ctx.get());
    ctpb::WriteContentRequest w;
    w.set_action(ctpb::WRITE);
    w.set_ref(bad);
    w.set_data("x");
    stream->Write(w);
    stream->WritesDone();
    ctpb::WriteContentResponse resp;
    while (stream->Read(&resp)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), kInvalid) << "ingest ref " << Printable(bad);
  }
  {
    auto stream_ctx = Ctx("default");  // outlives the stream
    auto stream = content->Write(stream_ctx.get());
    ctpb::WriteContentRequest w;
    w.set_action(ctpb::WRITE);
    w.set_ref("negative");
    w.set_total(-10);
    w.set_offset(-1);
    w.set_data("x");
    stream->Write(w);
    stream->WritesDone();
    ctpb::WriteContentResponse resp;
    while (stream->Read(&resp)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), kInvalid) << "negative total and offset";
  }

  auto images = ipb::Images::NewStub(channel);
  for (const std::string& bad : Strings{std::string("nul\0name", 8), std::string(5000, 'i'),
                                        std::string("UPPER/case:tag"), std::string("a:b:c:d")}) {
    ipb::CreateImageRequest req;
    req.mutable_image()->set_name(bad);
    req.mutable_image()->mutable_target()->set_media_type(
        "application/vnd.oci.image.manifest.v1+json");
    req.mutable_image()->mutable_target()->set_digest("sha256:" + std::string(64, 'a'));
    req.mutable_image()->mutable_target()->set_size(10);
    ipb::CreateImageResponse resp;
    EXPECT_EQ(images->Create(Ctx("default").get(), req, &resp).error_code(), kInvalid)
        << "image name " << Printable(bad);
  }

  // Tasks: exec ids become file names in the task's state directory.
  CommandResult r =
      Berth({"run", "-d", "--name", "target", "busybox", "sh", "-c", "exec sleep 600"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  started_.push_back({"default", "target"});
  const std::string id(absl::StripAsciiWhitespace(r.out));
  auto tasks = tpb::Tasks::NewStub(channel);
  for (const std::string& bad : BadNames()) {
    if (bad.empty() || bad == "semi;colon") continue;
    tpb::ExecProcessRequest exec;
    exec.set_container_id(id);
    exec.set_exec_id(bad);
    exec.set_spec(R"({"args":["true"],"cwd":"/"})");
    EXPECT_EQ(tasks->Exec(Ctx("default").get(), exec, &empty).error_code(), kInvalid)
        << "exec id " << Printable(bad);
  }
  {
    tpb::LogsRequest logs;
    logs.set_container_id(id);
    logs.set_tail(-5);
    logs.set_stdout(true);
    auto stream_ctx = Ctx("default");  // outlives the stream
    auto stream = tasks->Logs(stream_ctx.get(), logs);
    tpb::LogsResponse chunk;
    while (stream->Read(&chunk)) {
    }
    // Docker's -n all is negative: any negative tail means everything, never an error.
    EXPECT_TRUE(stream->Finish().ok());
  }
  for (const std::string& bad : Strings{"../x", std::string("nul\0", 4), std::string(300, 'c')}) {
    tpb::GetRequest get;
    get.set_container_id(bad);
    tpb::GetResponse resp;
    const grpc::StatusCode code = tasks->Get(Ctx("default").get(), get, &resp).error_code();
    EXPECT_TRUE(code == kInvalid || code == grpc::StatusCode::NOT_FOUND)
        << "task " << Printable(bad) << ": " << code;
  }

  // The daemon is still fine, and nothing was made outside its root or state.
  r = Berth({"inspect", "-f", "{{.State.Status}}", "target"});
  EXPECT_EQ(absl::StripAsciiWhitespace(r.out), "running") << r.err;
  struct stat st;
  EXPECT_NE(stat((daemon_->root() + "/../escape").c_str(), &st), 0);
  EXPECT_NE(stat("/escape", &st), 0);
}

}  // namespace
}  // namespace berth::e2e
