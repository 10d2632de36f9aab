#include "services/daemon/registry.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/address.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "services/build/build_service.h"
#include "services/check/check_service.h"
#include "services/check/checker.h"
#include "services/containers/containers_service.h"
#include "services/content/content_service.h"
#include "services/content/local/local_store.h"
#include "services/diff/diff_service.h"
#include "services/events/events_service.h"
#include "services/events/publisher.h"
#include "services/images/images_service.h"
#include "services/leases/leases_service.h"
#include "services/metadata/image_records.h"
#include "services/metadata/lease_records.h"
#include "services/network/networks_service.h"
#include "services/snapshots/snapshots_service.h"
#include "services/tasks/task_manager.h"
#include "services/tasks/tasks_service.h"
#include "services/version/version_service.h"
#include "services/volumes/volumes_service.h"
#include "snapshotter/native/native.h"
#include "snapshotter/overlayfs/overlayfs.h"
#include "snapshotter/proxy/proxy.h"
#include "spdlog/spdlog.h"

namespace berth::daemon {
namespace {

// How long introspection waits for a proxy snapshotter's socket before saying it does not answer.
constexpr auto kProbeTimeout = std::chrono::milliseconds(300);

// berth-shim beside berthd (as installed, and in bazel-bin's layout), else on PATH.
absl::StatusOr<std::string> ShimBinary(const DaemonConfig& config) {
  if (!config.shim.empty()) {
    if (::access(config.shim.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("shim: ", config.shim, " is not an executable file"));
    }
    return config.shim;
  }
  char self[4096];
  if (const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1); n > 0) {
    const std::string beside =
        path::Join(path::Dir(std::string(self, static_cast<size_t>(n))), "berth-shim");
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  const char* env = ::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(env ? env : "/usr/local/bin:/usr/bin", ':')) {
    const std::string candidate = path::Join(std::string(dir), "berth-shim");
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::FailedPreconditionError(
      "berth-shim was found neither beside berthd nor on PATH; set `shim:` in the config");
}

}  // namespace

void Channels::SetServer(grpc::Server* server) {
  absl::MutexLock l(&mu_);
  server_ = server;
  in_process_ = server != nullptr ? server->InProcessChannel(grpc::ChannelArguments()) : nullptr;
}

void Channels::OnClose(std::function<void()> fn) {
  absl::MutexLock l(&mu_);
  on_close_.push_back(std::move(fn));
}

bool Channels::Close(absl::Duration timeout) {
  std::vector<std::function<void()>> callbacks;
  {
    absl::MutexLock l(&mu_);
    closed_ = true;
    callbacks.swap(on_close_);
  }
  for (const std::function<void()>& fn : callbacks) fn();
  absl::MutexLock l(&mu_);
  auto returned = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return lent_ == 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&returned), timeout);
}

void Channels::MarkLocal(const std::string& name) {
  absl::MutexLock l(&mu_);
  local_[name] = true;
}

void Channels::AddRemote(const std::string& name, std::shared_ptr<grpc::Channel> channel) {
  absl::MutexLock l(&mu_);
  remote_[name] = std::move(channel);
}

std::shared_ptr<grpc::Channel> Channels::Get(const std::string& name) {
  absl::MutexLock l(&mu_);
  if (local_.count(name) > 0) {
    if (closed_ || in_process_ == nullptr) return nullptr;
    ++lent_;
    // The caller's copy counts as lent until its last owner (a stub, a call) lets it go.
    return std::shared_ptr<grpc::Channel>(in_process_.get(),
                                          [this, keep = in_process_](grpc::Channel*) {
                                            absl::MutexLock l(&mu_);
                                            --lent_;
                                          });
  }
  auto it = remote_.find(name);
  return it == remote_.end() ? nullptr : it->second;
}

absl::StatusOr<std::shared_ptr<metadata::MetadataStore>> SharedState::Metadata(
    const std::string& root) {
  absl::MutexLock l(&mu_);
  if (metadata_ == nullptr) {
    ASSIGN_OR_RETURN(metadata_, metadata::MetadataStore::Open(root));
    // Image records live in this database whether or not the images service is hosted here,
    // so the content they reference is always a root.
    metadata_->gc->AddRoots(metadata::ImageRoots);
  }
  return metadata_;
}

absl::StatusOr<std::shared_ptr<content::local::LocalContentStore>> SharedState::Content(
    const DaemonConfig& config) {
  const std::string& root = config.root;
  ASSIGN_OR_RETURN(std::shared_ptr<metadata::MetadataStore> md, Metadata(root));
  absl::MutexLock l(&mu_);
  if (content_ == nullptr) {
    ASSIGN_OR_RETURN(content_,
                     content::local::LocalContentStore::Open(root + "/content", md->db.get()));
    md->gc->AddSweeper(content_);
    absl::Duration expiry;
    if (!absl::ParseDuration(config.ingest_expiry, &expiry)) expiry = absl::Hours(24);
    content_->SetIngestExpiry(expiry);
    absl::StatusOr<int64_t> expired = content_->ExpireIngests();
    if (!expired.ok()) {
      spdlog::warn("removing abandoned ingests: {}", expired.status().ToString());
    } else if (*expired > 0) {
      spdlog::info("removed {} abandoned ingest(s) older than {}", *expired, config.ingest_expiry);
    }
  }
  return content_;
}

void SharedState::InitSnapshottersLocked(const DaemonConfig& config) {
  if (snapshotters_init_) return;
  const std::string& root = config.root;
  snapshotters_init_ = true;
  auto add = [&](const std::string& name,
                 absl::StatusOr<std::shared_ptr<::berth::snapshotter::Snapshotter>> made,
                 const std::string& dir) {
    SnapshotterInfo info{.name = name, .root = dir};
    if (made.ok()) {
      snapshotters_[name] = *std::move(made);
    } else {
      info.error = made.status();
    }
    snapshotter_infos_.push_back(std::move(info));
  };
  const std::string native = root + "/snapshots/native";
  add("native", ::berth::snapshotter::NativeSnapshotter::Open(native), native);
  const std::string overlay = root + "/snapshots/overlayfs";
  if (::berth::snapshotter::OverlaySupported()) {
    add("overlayfs", ::berth::snapshotter::OverlaySnapshotter::Open(overlay), overlay);
  } else {
    add("overlayfs",
        absl::FailedPreconditionError("overlay is not available in this kernel (no \"overlay\" "
                                      "in /proc/filesystems); use native"),
        overlay);
  }
  for (const auto& [name, proxy] : config.proxy_snapshotters) {
    SnapshotterInfo info{.name = name, .address = proxy.address};
    absl::StatusOr<Address> addr = ParseAddress(proxy.address);
    if (addr.ok()) {
      // Dialled lazily: a plugin that starts after berthd is picked up on first use.
      info.channel = grpc::CreateChannel(addr->GrpcTarget(), grpc::InsecureChannelCredentials());
      snapshotters_[name] =
          std::make_shared<::berth::snapshotter::ProxySnapshotter>(name, info.channel);
    } else {
      info.error = addr.status();
    }
    snapshotter_infos_.push_back(std::move(info));
  }
}

absl::StatusOr<std::map<std::string, std::shared_ptr<::berth::snapshotter::Snapshotter>>>
SharedState::Snapshotters(const DaemonConfig& config) {
  absl::MutexLock l(&mu_);
  InitSnapshottersLocked(config);
  return snapshotters_;
}

std::shared_ptr<events::Exchange> SharedState::Exchange() {
  absl::MutexLock l(&mu_);
  if (exchange_ == nullptr) exchange_ = std::make_shared<events::Exchange>();
  return exchange_;
}

std::shared_ptr<network::NetworkManager> SharedState::Networks(const DaemonConfig& config) {
  absl::MutexLock l(&mu_);
  if (networks_ == nullptr) {
    networks_ = std::make_shared<network::NetworkManager>(path::Join(config.root, "networks"),
                                                          config.bridge_subnet, config.bridge_name);
  }
  return networks_;
}

absl::StatusOr<std::shared_ptr<tasks::TaskManager>> SharedState::Tasks(const DaemonConfig& config,
                                                                       Channels* channels) {
  std::shared_ptr<network::NetworkManager> networks = Networks(config);
  absl::MutexLock l(&mu_);
  if (tasks_ != nullptr) return tasks_;
  // Without a shim the service still serves what needs none (logs, lists); Create says what
  // is missing.
  absl::StatusOr<std::string> shim = ShimBinary(config);
  if (!shim.ok()) spdlog::warn("tasks: {}", std::string(shim.status().message()));
  absl::Duration runtime_timeout;  // checked by ValidateDaemonConfig
  if (!absl::ParseDuration(config.runtime_timeout, &runtime_timeout) ||
      runtime_timeout <= absl::ZeroDuration()) {
    runtime_timeout = absl::Seconds(60);
  }
  tasks::TasksConfig tc{.root = config.root,
                        .state = config.state,
                        .shim = shim.value_or(""),
                        .shim_error = std::string(shim.status().message()),
                        .default_runtime = config.default_runtime,
                        .runtimes = config.runtimes,
                        .log_max_size = config.log_max_size,
                        .log_max_files = static_cast<int>(config.log_max_files),
                        .runtime_timeout = runtime_timeout,
                        .networks = std::move(networks),
                        .default_network = config.default_network};
  tasks_ = std::make_shared<tasks::TaskManager>(
      std::move(tc), [channels](const std::string& name) { return channels->Get(name); });
  channels->OnClose([tasks = std::weak_ptr<tasks::TaskManager>(tasks_)] {
    if (std::shared_ptr<tasks::TaskManager> t = tasks.lock()) t->Stop();
  });
  tasks_->Recover();
  return tasks_;
}

std::vector<SnapshotterInfo> SharedState::SnapshotterInfos(const DaemonConfig& config) {
  absl::MutexLock l(&mu_);
  InitSnapshottersLocked(config);
  return snapshotter_infos_;
}

std::vector<berth::services::introspection::v1::Plugin> SnapshotterPlugins(
    const std::vector<SnapshotterInfo>& infos) {
  namespace ipb = berth::services::introspection::v1;
  std::vector<ipb::Plugin> out;
  for (const SnapshotterInfo& i : infos) {
    ipb::Plugin p;
    p.set_type("berth.snapshotter.v1");
    p.set_id(i.name);
    auto& exports = *p.mutable_exports();
    if (!i.root.empty()) exports["root"] = i.root;
    if (!i.error.ok()) {
      p.set_status(ipb::PLUGIN_STATUS_ERROR);
      p.mutable_init_error()->set_code(static_cast<int32_t>(i.error.code()));
      p.mutable_init_error()->set_message(std::string(i.error.message()));
    } else if (!i.address.empty()) {
      p.set_status(ipb::PLUGIN_STATUS_REMOTE);
      exports["address"] = i.address;
      const bool answers =
          i.channel != nullptr &&
          i.channel->WaitForConnected(std::chrono::system_clock::now() + kProbeTimeout);
      exports["reachable"] = answers ? "true" : "false";
    } else {
      p.set_status(ipb::PLUGIN_STATUS_OK);
    }
    out.push_back(std::move(p));
  }
  return out;
}

const std::vector<ServiceDef>& ServiceDefs() {
  static const auto* defs = new std::vector<ServiceDef>{
      {"version", "berth.services.version.v1.Version",
       [](ServiceContext&) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         return std::make_unique<services::VersionService>();
       }},
      {"introspection", "berth.services.introspection.v1.Introspection",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         services::PluginSource plugins;
         // Snapshotters live where the snapshots service does; a remote one reports its own.
         const bool snapshots_here = std::any_of(
             ctx.endpoints.begin(), ctx.endpoints.end(),
             [](const services::ServiceEndpoint& e) { return e.name == "snapshots" && e.local; });
         if (snapshots_here) {
           plugins = [shared = ctx.shared, config = ctx.config] {
             return SnapshotterPlugins(shared->SnapshotterInfos(config));
           };
         }
         return std::make_unique<services::IntrospectionService>(ctx.facts, ctx.endpoints,
                                                                 std::move(plugins));
       }},
      {"content", "berth.services.content.v1.Content",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         ASSIGN_OR_RETURN(std::shared_ptr<metadata::MetadataStore> md,
                          ctx.shared->Metadata(ctx.config.root));
         ASSIGN_OR_RETURN(std::shared_ptr<content::local::LocalContentStore> store,
                          ctx.shared->Content(ctx.config));
         // The lambda keeps the database alive as long as the store that points into it.
         return std::make_unique<services::ContentService>(
             store, [md] { return md->gc->Collect().status(); });
       }},
      {"leases", "berth.services.leases.v1.Leases",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         ASSIGN_OR_RETURN(std::shared_ptr<metadata::MetadataStore> md,
                          ctx.shared->Metadata(ctx.config.root));
         return std::make_unique<services::LeasesService>(md);
       }},
      {"images", "berth.services.images.v1.Images",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         ASSIGN_OR_RETURN(std::shared_ptr<metadata::MetadataStore> md,
                          ctx.shared->Metadata(ctx.config.root));
         ASSIGN_OR_RETURN(std::shared_ptr<content::local::LocalContentStore> store,
                          ctx.shared->Content(ctx.config));
         Channels* channels = ctx.channels;
         services::RegistryConfig registries;
         registries.hosts = {.mirrors = ctx.config.registry_mirrors,
                             .insecure = ctx.config.insecure_registries,
                             .certs_dir = ctx.config.registry_certs_dir};
         registries.max_concurrent_downloads =
             static_cast<int>(ctx.config.max_concurrent_downloads);
         registries.max_concurrent_uploads = static_cast<int>(ctx.config.max_concurrent_uploads);
         return std::make_unique<services::ImagesService>(
             store, md, [channels](const std::string& name) { return channels->Get(name); },
             std::move(registries));
       }},
      {"containers", "berth.services.containers.v1.Containers",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         ASSIGN_OR_RETURN(std::shared_ptr<metadata::MetadataStore> md,
                          ctx.shared->Metadata(ctx.config.root));
         Channels* channels = ctx.channels;
         return std::make_unique<services::ContainersService>(
             md, events::Publisher([channels] { return channels->Get("events"); }));
       }},
      {"snapshots", "berth.services.snapshots.v1.Snapshots",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         ASSIGN_OR_RETURN(auto snapshotters, ctx.shared->Snapshotters(ctx.config));
         if (snapshotters.count(ctx.config.snapshotter) == 0) {
           for (const SnapshotterInfo& i : ctx.shared->SnapshotterInfos(ctx.config)) {
             if (i.name == ctx.config.snapshotter && !i.error.ok()) {
               return Annotate(i.error, absl::StrCat("snapshotter: \"", i.name, "\""));
             }
           }
           return absl::InvalidArgumentError(
               absl::StrCat("snapshotter: \"", ctx.config.snapshotter,
                            "\" is not available here (overlayfs needs overlay in the kernel; "
                            "native always works; others go under proxy_snapshotters:)"));
         }
         return std::make_unique<services::SnapshotsService>(std::move(snapshotters),
                                                             ctx.config.snapshotter);
       }},
      {"events", "berth.services.events.v1.Events",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         return std::make_unique<services::EventsService>(ctx.shared->Exchange());
       }},
      {"tasks", "berth.services.tasks.v1.Tasks",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         ASSIGN_OR_RETURN(std::shared_ptr<tasks::TaskManager> manager,
                          ctx.shared->Tasks(ctx.config, ctx.channels));
         return std::make_unique<services::TasksService>(std::move(manager));
       }},
      {"networks", "berth.services.networks.v1.Networks",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         // Connect and Disconnect act on running tasks, so the tasks live in this process too.
         ASSIGN_OR_RETURN(std::shared_ptr<tasks::TaskManager> manager,
                          ctx.shared->Tasks(ctx.config, ctx.channels));
         return std::make_unique<services::NetworksService>(ctx.shared->Networks(ctx.config),
                                                            std::move(manager));
       }},
      {"volumes", "berth.services.volumes.v1.Volumes",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         ASSIGN_OR_RETURN(std::shared_ptr<metadata::MetadataStore> md,
                          ctx.shared->Metadata(ctx.config.root));
         Channels* channels = ctx.channels;
         return std::make_unique<services::VolumesService>(
             md, ctx.config.root,
             [channels](const std::string& name) { return channels->Get(name); });
       }},
      {"diff", "berth.services.diff.v1.Diff",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         ASSIGN_OR_RETURN(std::shared_ptr<metadata::MetadataStore> md,
                          ctx.shared->Metadata(ctx.config.root));
         ASSIGN_OR_RETURN(std::shared_ptr<content::local::LocalContentStore> store,
                          ctx.shared->Content(ctx.config));
         // A layer the namespace already had joins the request's lease all the same.
         return std::make_unique<services::DiffService>(store, [md](const std::string& ns,
                                                                    const std::string& lease,
                                                                    const std::string& digest) {
           return md->db->Update([&](metadata::Db& db) {
             return metadata::AddLeaseResource(db, ns, lease, {.type = "content", .id = digest});
           });
         });
       }},
      {"build", "berth.services.build.v1.Build",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         Channels* channels = ctx.channels;
         return services::BuildService::Create(
             {.root = ctx.config.root,
              .default_snapshotter = ctx.config.snapshotter,
              .runtime = ctx.config.default_runtime},
             [channels](const std::string& name) { return channels->Get(name); });
       }},
      {"check", "berth.services.check.v1.Check",
       [](ServiceContext& ctx) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         // Like images, it reads the root's metadata and content store in this process.
         ASSIGN_OR_RETURN(std::shared_ptr<metadata::MetadataStore> md,
                          ctx.shared->Metadata(ctx.config.root));
         ASSIGN_OR_RETURN(std::shared_ptr<content::local::LocalContentStore> store,
                          ctx.shared->Content(ctx.config));
         ::berth::check::CheckerConfig cc{.root = ctx.config.root,
                                          .state = ctx.config.state,
                                          .default_snapshotter = ctx.config.snapshotter,
                                          .started_at = ctx.facts.started_at};
         for (const SnapshotterInfo& i : ctx.shared->SnapshotterInfos(ctx.config)) {
           if (i.error.ok()) cc.snapshotters.push_back(i.name);
         }
         Channels* channels = ctx.channels;
         auto checker = std::make_shared<::berth::check::Checker>(
             std::move(cc), md, store,
             [channels](const std::string& name) { return channels->Get(name); });
         auto service = std::make_unique<services::CheckService>(
             std::move(checker), [channels] { return channels->Get("check") != nullptr; });
         // The daemon closes channels before it destroys services: the pointer is good then.
         channels->OnClose([raw = service.get()] { raw->Stop(); });
         return service;
       }},
  };
  return *defs;
}

absl::Status ValidateServiceSelection(const DaemonConfig& config) {
  std::vector<std::string> known;
  for (const ServiceDef& d : ServiceDefs()) known.push_back(d.name);
  auto check = [&](const std::string& name, absl::string_view where) -> absl::Status {
    if (std::find(known.begin(), known.end(), name) != known.end()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("unknown service \"", name, "\" in ", where,
                                                   " (known: ", absl::StrJoin(known, ", "), ")"));
  };
  for (const std::string& s : config.services) RETURN_IF_ERROR(check(s, "services"));
  for (const auto& [name, address] : config.remote) {
    RETURN_IF_ERROR(check(name, "remote"));
    if (config.services.empty() ||
        std::find(config.services.begin(), config.services.end(), name) != config.services.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("service \"", name, "\" is both hosted here and listed under remote: (at ",
                       address, "); host it or point at it, not both"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(
    const DaemonConfig& config, const std::string& address) {
  ASSIGN_OR_RETURN(Address addr, ParseAddress(address));
  if (addr.kind == Address::Kind::kUnix) return grpc::InsecureChannelCredentials();
  if (!config.tls.enabled()) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote address ", address, " is TCP, which requires tls: in the config"));
  }
  grpc::SslCredentialsOptions opts;
  ASSIGN_OR_RETURN(opts.pem_root_certs, sys::ReadFile(config.tls.ca));
  ASSIGN_OR_RETURN(opts.pem_cert_chain, sys::ReadFile(config.tls.cert));
  ASSIGN_OR_RETURN(opts.pem_private_key, sys::ReadFile(config.tls.key));
  return grpc::SslCredentials(opts);
}

}  // namespace berth::daemon
