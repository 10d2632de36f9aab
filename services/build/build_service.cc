#include "services/build/build_service.h"

#include <dirent.h>
#include <sys/mount.h>

#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "services/build/builder.h"
#include "services/build/dockerfile.h"
#include "services/build/paths.h"
#include "services/common/request_metadata.h"
#include "services/images/reference.h"
#include "snapshotter/apply/apply.h"
#include "snapshotter/storage/fsutil.h"
#include "spdlog/spdlog.h"

namespace berth::services {
namespace {

namespace pb = ::berth::services::build::v1;
using ::berth::build::Backend;
using ::berth::build::BuildCache;
using ::berth::build::Builder;
using ::berth::build::BuildParams;

constexpr size_t kMaxDockerfile = 1 << 20;
constexpr int64_t kProgressEvery = 8 << 20;

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* de = ::readdir(d)) {
    const std::string n = de->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

// What a build interrupted by a crash left: mounts first, then the files.
void CleanStale(const std::string& tmp) {
  for (const std::string& id : Entries(tmp)) {
    const std::string work = tmp + "/" + id;
    for (const std::string& e : Entries(work)) {
      if (e.empty() || e[0] != 'm') continue;
      const std::string m = work + "/" + e;
      while (::umount2(m.c_str(), MNT_DETACH) == 0) {
      }
    }
    if (absl::Status st = ::berth::snapshotter::RemoveAll(work); !st.ok()) {
      spdlog::warn("build: cannot remove the leftovers of an interrupted build: {}",
                   std::string(st.message()));
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<BuildService>> BuildService::Create(
    BuildServiceConfig config, ::berth::build::ChannelSource channels) {
  RETURN_IF_ERROR(sys::MkdirAll(::berth::build::TmpDir(config.root), 0700));
  CleanStale(::berth::build::TmpDir(config.root));
  ASSIGN_OR_RETURN(std::unique_ptr<BuildCache> cache,
                   BuildCache::Open(::berth::build::CachePath(config.root)));
  return std::unique_ptr<BuildService>(
      new BuildService(std::move(config), std::move(channels), std::move(cache)));
}

grpc::Status BuildService::Build(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<pb::BuildResponse, pb::BuildRequest>* stream) {
  return ToGrpcStatus(DoBuild(context, stream));
}

absl::Status BuildService::DoBuild(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<pb::BuildResponse, pb::BuildRequest>* stream) {
  ASSIGN_OR_RETURN(std::string ns, RequestNamespace(*context));
  pb::BuildRequest first;
  if (!stream->Read(&first) || !first.has_options()) {
    return absl::InvalidArgumentError("build: the first message must carry the options");
  }
  BuildParams params;
  params.options = first.options();
  const pb::BuildOptions& o = params.options;
  if (!o.dockerfile_name().empty()) params.dockerfile_name = o.dockerfile_name();
  if (o.dockerfile().size() > kMaxDockerfile) {
    return absl::InvalidArgumentError(
        absl::StrCat(params.dockerfile_name, " is over ", kMaxDockerfile >> 20, " MiB"));
  }
  for (const std::string& tag : o.tags()) {
    absl::StatusOr<std::string> n = ::berth::images::Normalize(tag);
    if (!n.ok())
      return absl::InvalidArgumentError(absl::StrCat("invalid tag: ", n.status().message()));
  }
  if (absl::StripAsciiWhitespace(o.dockerfile()).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the ", params.dockerfile_name, " is empty"));
  }
  ASSIGN_OR_RETURN(::berth::build::Dockerfile df,
                   ::berth::build::ParseDockerfile(o.dockerfile(), params.dockerfile_name));

  absl::BitGen gen;
  params.build_id = absl::StrFormat("%016x", absl::Uniform<uint64_t>(gen));
  {
    absl::MutexLock l(&mu_);
    running_.insert(params.build_id);
  }
  absl::Cleanup not_running = [&] {
    absl::MutexLock l(&mu_);
    running_.erase(params.build_id);
  };
  params.work_dir = ::berth::build::WorkDir(config_.root, params.build_id);
  params.context_dir = ::berth::build::ContextDir(params.work_dir);
  RETURN_IF_ERROR(sys::MkdirAll(params.context_dir, 0700));
  // Removed after the answer (a context of many files takes a while to delete).
  absl::Cleanup drop_work = [&] { RemoveLater(params.work_dir); };

  // The context: a tar, extracted as it arrives (an empty stream is an empty context).
  pb::BuildResponse progress;
  progress.mutable_progress()->set_ref("context");
  progress.mutable_progress()->set_status("receiving");
  std::string chunk;
  size_t pos = 0;
  int64_t received = 0, reported = 0;
  bool eof = false;
  auto next = [&]() -> absl::Status {
    pb::BuildRequest req;
    while (pos >= chunk.size() && !eof) {
      if (!stream->Read(&req)) {
        eof = true;
        break;
      }
      if (!req.has_context()) {
        return absl::InvalidArgumentError("build: options may only come in the first message");
      }
      chunk = std::move(*req.mutable_context());
      pos = 0;
      received += static_cast<int64_t>(chunk.size());
      if (received - reported >= kProgressEvery) {
        reported = received;
        progress.mutable_progress()->set_offset(received);
        stream->Write(progress);
      }
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(next());
  if (!eof) {
    auto read = [&](char* buf, size_t n) -> absl::StatusOr<size_t> {
      if (context->IsCancelled()) return absl::CancelledError("the client went away");
      RETURN_IF_ERROR(next());
      const size_t got = std::min(n, chunk.size() - pos);
      std::memcpy(buf, chunk.data() + pos, got);
      pos += got;
      return got;
    };
    absl::StatusOr<::berth::snapshotter::ApplyResult> r =
        ::berth::snapshotter::ApplyLayer(read, params.context_dir, {});
    if (!r.ok()) return Annotate(r.status(), "build context");
    // Whatever follows the tar's end.
    while (!eof) {
      pos = chunk.size();
      RETURN_IF_ERROR(next());
    }
  }
  progress.mutable_progress()->set_status("done");
  progress.mutable_progress()->set_offset(received);
  stream->Write(progress);

  const std::string snapshotter =
      o.snapshotter().empty() ? config_.default_snapshotter : o.snapshotter();
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, Backend::Connect(channels_, ns, snapshotter));
  params.runtime = config_.runtime;
  CleanOrphans(*backend);
  Builder builder(
      *backend, *cache_, params, [stream](const pb::BuildResponse& r) { stream->Write(r); },
      [context] { return context->IsCancelled(); });
  ASSIGN_OR_RETURN(::berth::build::BuildResult result, builder.Run(df));
  pb::BuildResponse done;
  for (const std::string& n : result.names) done.mutable_result()->add_names(n);
  done.mutable_result()->set_config_digest(result.config_digest);
  *done.mutable_result()->mutable_manifest() = result.manifest;
  stream->Write(done);
  return absl::OkStatus();
}

BuildService::~BuildService() {
  absl::MutexLock l(&mu_);
  mu_.Await(absl::Condition(
      +[](int* n) { return *n == 0; }, &removing_));
}

void BuildService::RemoveLater(const std::string& dir) {
  // Renamed first, so that the build's directory is gone at once; the files go on a thread.
  const std::string trash = dir + ".rm";
  const std::string target = ::rename(dir.c_str(), trash.c_str()) == 0 ? trash : dir;
  {
    absl::MutexLock l(&mu_);
    ++removing_;
  }
  std::thread([this, target] {
    if (absl::Status st = ::berth::snapshotter::RemoveAll(target); !st.ok()) {
      spdlog::warn("build: {}", std::string(st.message()));
    }
    absl::MutexLock l(&mu_);
    --removing_;
  }).detach();
}

void BuildService::CleanOrphans(Backend& b) {
  // Every temporary object is named "build-<build id>-…".
  auto orphan = [&](const std::string& name) {
    if (!absl::StartsWith(name, "build-")) return false;
    const std::string id = name.substr(6, name.find('-', 6) - 6);
    absl::MutexLock l(&mu_);
    return running_.count(id) == 0;
  };
  namespace cpb = ::berth::services::containers::v1;
  namespace tpb = ::berth::services::tasks::v1;
  cpb::ListContainersRequest lreq;
  lreq.add_filters("labels.\"berth.io/build\"");
  cpb::ListContainersResponse cs;
  if (b.containers().List(b.Context().get(), lreq, &cs).ok()) {
    for (const cpb::Container& c : cs.containers()) {
      if (!orphan(c.id())) continue;
      spdlog::info("build: removing {} (left by an interrupted build)", c.id());
      tpb::KillRequest k;
      k.set_container_id(c.id());
      k.set_signal(9);
      k.set_all(true);
      google::protobuf::Empty e;
      b.tasks().Kill(b.Context().get(), k, &e);
      tpb::DeleteTaskRequest del;
      del.set_container_id(c.id());
      tpb::DeleteResponse d;
      for (int i = 0; i < 50; ++i) {
        grpc::Status st = b.tasks().Delete(b.Context().get(), del, &d);
        if (st.ok() || st.error_code() == grpc::StatusCode::NOT_FOUND) break;
        absl::SleepFor(absl::Milliseconds(100));
      }
      cpb::DeleteContainerRequest cdel;
      cdel.set_id(c.id());
      b.containers().Delete(b.Context().get(), cdel, &e);
    }
  }
  absl::StatusOr<std::vector<std::string>> snaps = b.ListSnapshots("name~=^build-");
  if (!snaps.ok()) return;
  // Views and actives only ("build-<id>-<n>-what"); the committed layers are named by chain ID.
  for (const std::string& key : *snaps) {
    if (!orphan(key)) continue;
    spdlog::info("build: removing snapshot {} (left by an interrupted build)", key);
    b.Remove(key).IgnoreError();
  }
}

grpc::Status BuildService::Prune(grpc::ServerContext* context, const pb::PruneRequest*,
                                 pb::PruneResponse* response) {
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string ns, RequestNamespace(*context));
    ASSIGN_OR_RETURN(int64_t n, cache_->Prune(ns));
    response->set_entries(n);
    ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend,
                     Backend::Connect(channels_, ns, config_.default_snapshotter));
    return backend->DeleteLease(::berth::build::kCacheLease);
  }();
  return ToGrpcStatus(st);
}

}  // namespace berth::services
