#include "services/snapshots/standalone/standalone.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/address.h"
#include "common/log.h"
#include "common/path.h"
#include "common/server_process.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/unique_fd.h"
#include "services/snapshots/snapshots_service.h"
#include "snapshotter/native/native.h"
#include "snapshotter/overlayfs/overlayfs.h"
#include "spdlog/spdlog.h"

namespace berth::snapshots_standalone {
namespace {

struct Options {
  std::string type;
  std::string root;
  std::string address;
  std::string log_level = "info";
};

absl::Status Serve(const Options& opts, const sigset_t& stop) {
  ASSIGN_OR_RETURN(Address addr, ParseAddress(opts.address));
  if (addr.kind != Address::Kind::kUnix) {
    return absl::InvalidArgumentError(
        absl::StrCat("--address must be unix:///PATH, got \"", opts.address, "\""));
  }
  if (!path::IsAbsolute(opts.root)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--root must be an absolute path, got \"", opts.root, "\""));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<::berth::snapshotter::Snapshotter> sn,
                   OpenBuiltin(opts.type, opts.root));
  services::SnapshotsService service({{opts.type, sn}}, opts.type, /*scope_keys=*/false);

  RETURN_IF_ERROR(sys::MkdirAll(path::Dir(addr.path), 0711));
  RETURN_IF_ERROR(ClearStaleSocket(addr.path));
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  builder.AddListeningPort(addr.GrpcTarget(), grpc::InsecureServerCredentials());
  // Only root and the socket's group may drive the snapshotter: it mounts and writes as root.
  mode_t old = ::umask(0117);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ::umask(old);
  if (server == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", addr.ToString(), " (see the gRPC error above)"));
  }
  spdlog::info("berth-snapshotter: {} at {} listening on {}", opts.type, opts.root,
               addr.ToString());
  int sig = 0;
  sigwait(&stop, &sig);
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  return sys::RemoveIfExists(addr.path);
}

}  // namespace

absl::StatusOr<std::shared_ptr<::berth::snapshotter::Snapshotter>> OpenBuiltin(
    const std::string& type, const std::string& root) {
  if (type == "native") {
    ASSIGN_OR_RETURN(auto s, ::berth::snapshotter::NativeSnapshotter::Open(root));
    return std::shared_ptr<::berth::snapshotter::Snapshotter>(std::move(s));
  }
  if (type == "overlayfs") {
    if (!::berth::snapshotter::OverlaySupported()) {
      return absl::FailedPreconditionError(
          "overlay is not available in this kernel; use --type native");
    }
    ASSIGN_OR_RETURN(auto s, ::berth::snapshotter::OverlaySnapshotter::Open(root));
    return std::shared_ptr<::berth::snapshotter::Snapshotter>(std::move(s));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--type: unknown snapshotter \"", type, "\" (known: overlayfs, native)"));
}

int Main(int argc, char** argv) {
  // Stop signals go to sigwait on the main thread; gRPC's threads inherit the mask.
  sigset_t stop = BlockStopSignals();

  CLI::App app("berth-snapshotter: serves one built-in snapshotter over the snapshots API",
               "berth-snapshotter");
  Options opts;
  app.add_option("--type", opts.type, "overlayfs or native")->required();
  app.add_option("--root", opts.root, "directory for the snapshotter's data")->required();
  app.add_option("--address", opts.address, "listen address, unix:///PATH")->required();
  app.add_option("--log-level", opts.log_level, "trace, debug, info, warn or error");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (absl::Status st = InitLogging({.level = opts.log_level}); !st.ok()) {
    std::fprintf(stderr, "berth-snapshotter: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  if (absl::Status st = Serve(opts, stop); !st.ok()) {
    spdlog::critical("berth-snapshotter: {}", std::string(st.message()));
    return 1;
  }
  spdlog::shutdown();
  std::fflush(nullptr);
  _exit(0);  // skip gRPC's slow global teardown, as berthd does
}

}  // namespace berth::snapshots_standalone
