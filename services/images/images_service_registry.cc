// ImagesService: Pull (unpacking layers as they arrive), Push and Login against registries.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "berth/events/v1/events.pb.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "services/common/request_metadata.h"
#include "services/images/images_service.h"
#include "services/images/images_service_internal.h"
#include "services/images/oci.h"
#include "services/images/pull.h"
#include "services/images/push.h"
#include "services/images/reference.h"
#include "services/images/registry/client.h"
#include "services/images/unpack.h"
#include "services/metadata/image_records.h"

namespace berth::services {
namespace {

::berth::registry::ClientOptions ClientOptionsFor(const RegistryConfig& config,
                                                  const pb::RegistryOptions& r,
                                                  grpc::ServerContext* context, bool push) {
  ::berth::registry::ClientOptions o;
  o.hosts = config.hosts;
  o.credentials = {.username = r.username(), .password = r.password()};
  o.plain_http = r.plain_http();
  o.skip_verify = r.insecure_skip_verify();
  o.push = push;
  o.cancelled = [context] { return context->IsCancelled(); };
  return o;
}

void ToProto(const img::TransferProgress& p, ::berth::types::v1::Progress* out) {
  out->set_ref(p.ref);
  out->set_status(p.status);
  out->set_offset(p.offset);
  out->set_total(p.total);
  out->set_message(p.message);
}

// Blobs a pull has stored so far, for an unpack that runs beside the downloads.
class ArrivedBlobs {
 public:
  void Add(const std::string& digest) {
    absl::MutexLock l(&mu_);
    have_.insert(digest);
    cv_.SignalAll();
  }
  // The pull ended (ok or not): waits stop, and blobs not here by now will not come.
  void Finish(bool ok) {
    absl::MutexLock l(&mu_);
    finished_ = true;
    ok_ = ok;
    cv_.SignalAll();
  }
  absl::Status WaitFor(const std::string& digest) {
    absl::MutexLock l(&mu_);
    while (!finished_ && have_.count(digest) == 0) cv_.Wait(&mu_);
    if (have_.count(digest) > 0) return absl::OkStatus();
    return absl::CancelledError(ok_ ? absl::StrCat("blob ", digest, " never arrived")
                                    : "the pull failed");
  }

 private:
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::set<std::string> have_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool ok_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

grpc::Status ImagesService::Pull(grpc::ServerContext* context, const pb::PullImageRequest* request,
                                 grpc::ServerWriter<pb::PullImageResponse>* writer) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<img::Reference> ref = img::ParseNormalized(request->ref());
  if (!ref.ok()) return ToGrpcStatus(Annotate(ref.status(), "pull"));
  const std::string what = absl::StrCat("pull ", ref->FamiliarString());
  std::mutex write_mu;  // progress comes from several download threads
  auto send = [&](const img::TransferProgress& p) {
    pb::PullImageResponse resp;
    ToProto(p, resp.add_progress());
    std::lock_guard<std::mutex> l(write_mu);
    writer->Write(resp);
  };
  ArrivedBlobs arrived;
  auto progress = [&](const img::TransferProgress& p) {
    send(p);
    if (p.status == "done" || p.status == "exists") arrived.Add(p.ref);
  };
  absl::StatusOr<std::unique_ptr<::berth::registry::RegistryClient>> client =
      ::berth::registry::RegistryClient::Connect(
          ref->domain, ref->path,
          ClientOptionsFor(registry_, request->registry(), context, /*push=*/false));
  if (!client.ok()) return ToGrpcStatus(Annotate(client.status(), what));
  img::PullOptions opts{.ns = *ns,
                        .platform = PlatformFromProto(request->platform()),
                        .all_platforms = request->all_platforms(),
                        .labels = {request->labels().begin(), request->labels().end()},
                        .max_concurrent_downloads = registry_.max_concurrent_downloads};
  opts.cancelled = [context] { return context->IsCancelled(); };
  // Layers are unpacked as they arrive, in order, beside the downloads.
  const bool unpack = request->unpack() && !request->all_platforms();
  std::thread unpacker;
  absl::StatusOr<pb::UnpackImageResponse> unpacked =
      absl::FailedPreconditionError("the unpack did not start");
  if (unpack) {
    opts.on_documents = [&](const img::Descriptor& target) {
      unpacker = std::thread([&, target] {
        img::UnpackOptions uo;
        uo.ns = *ns;
        uo.snapshotter = request->snapshotter();
        uo.wait_for_blob = [&](const img::Descriptor& blob) {
          return arrived.WaitFor(blob.digest);
        };
        uo.on_layer = [&](const img::Descriptor& layer) {
          send({.ref = layer.digest,
                .status = "extracted",
                .offset = layer.size,
                .total = layer.size,
                .message = "layer"});
        };
        unpacked = UnpackTarget(target, std::move(uo), request->platform());
      });
    };
  }
  absl::StatusOr<img::PullResult> pulled =
      img::PullImage(*store_, *md_, **client, *ref, opts, progress);
  arrived.Finish(pulled.ok());
  if (unpacker.joinable()) unpacker.join();
  if (!pulled.ok()) return ToGrpcStatus(Annotate(pulled.status(), what));
  if (!pulled->up_to_date) {
    publisher_.Publish(*ns, "/images/create", ImageEvent<ev::ImageCreate>(pulled->image));
  }
  if (unpack) {
    if (!unpacked.ok()) {
      return ToGrpcStatus(Annotate(unpacked.status(), absl::StrCat(what, ": unpack")));
    }
    progress({.ref = pulled->image.name,
              .status = "unpacked",
              .offset = unpacked->unpacked(),
              .total = unpacked->layers(),
              .message = unpacked->chain_id()});
  }
  progress({.ref = pulled->image.name,
            .status = pulled->up_to_date ? "up to date" : "downloaded",
            .offset = pulled->downloaded_bytes,
            .total = 0,
            .message = pulled->image.target.digest});
  pb::PullImageResponse done;
  ToProto(pulled->image, done.mutable_image());
  writer->Write(done);
  return grpc::Status::OK;
}

grpc::Status ImagesService::Push(grpc::ServerContext* context, const pb::PushImageRequest* request,
                                 grpc::ServerWriter<pb::PushImageResponse>* writer) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<md::ImageRecord> found = Lookup(*ns, request->name());
  if (!found.ok()) return ToGrpcStatus(Annotate(found.status(), "push"));
  const md::ImageRecord& record = *found;
  absl::StatusOr<img::Reference> dest =
      img::ParseNormalized(request->ref().empty() ? record.name : request->ref());
  if (!dest.ok()) return ToGrpcStatus(Annotate(dest.status(), "push"));
  const std::string what = absl::StrCat("push ", dest->FamiliarString());
  std::mutex write_mu;
  auto progress = [&](const img::TransferProgress& p) {
    pb::PushImageResponse resp;
    ToProto(p, resp.add_progress());
    std::lock_guard<std::mutex> l(write_mu);
    writer->Write(resp);
  };
  absl::StatusOr<std::unique_ptr<::berth::registry::RegistryClient>> client =
      ::berth::registry::RegistryClient::Connect(
          dest->domain, dest->path,
          ClientOptionsFor(registry_, request->registry(), context, /*push=*/true));
  if (!client.ok()) return ToGrpcStatus(Annotate(client.status(), what));
  progress({.ref = dest->String(),
            .status = "resolved",
            .offset = 0,
            .total = 0,
            .message = record.target.digest});
  img::PushOptions opts{.ns = *ns,
                        .platform = PlatformFromProto(request->platform()),
                        .max_concurrent_uploads = registry_.max_concurrent_uploads};
  opts.cancelled = [context] { return context->IsCancelled(); };
  const img::Descriptor target{.media_type = record.target.media_type,
                               .digest = record.target.digest,
                               .size = record.target.size};
  absl::StatusOr<img::Descriptor> pushed =
      img::PushImage(*store_, **client, target, *dest, opts, progress);
  if (!pushed.ok()) return ToGrpcStatus(Annotate(pushed.status(), what));
  pb::PushImageResponse done;
  done.mutable_pushed()->set_media_type(pushed->media_type);
  done.mutable_pushed()->set_digest(pushed->digest);
  done.mutable_pushed()->set_size(pushed->size);
  writer->Write(done);
  return grpc::Status::OK;
}

grpc::Status ImagesService::Login(grpc::ServerContext* context, const pb::LoginRequest* request,
                                  pb::LoginResponse* response) {
  std::string domain = request->registry();
  // Docker's spellings of Docker Hub.
  if (domain.empty() || domain == "index.docker.io" || domain == "registry-1.docker.io" ||
      domain == "https://index.docker.io/v1/") {
    domain = img::kDefaultDomain;
  }
  absl::StatusOr<img::Reference> probe = img::ParseNormalized(absl::StrCat(domain, "/x/y"));
  if (!probe.ok() || probe->domain != domain) {
    return ToGrpcStatus(
        absl::InvalidArgumentError(absl::StrCat("login: "
                                                ", request->registry(), "
                                                " is not a registry host[:port]")));
  }
  absl::StatusOr<std::unique_ptr<::berth::registry::RegistryClient>> client =
      ::berth::registry::RegistryClient::Connect(
          domain, "", ClientOptionsFor(registry_, request->options(), context, false));
  if (!client.ok()) return ToGrpcStatus(Annotate(client.status(), absl::StrCat("login ", domain)));
  response->set_endpoint((*client)->base());
  return grpc::Status::OK;
}

}  // namespace berth::services
