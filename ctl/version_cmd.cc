// berth version: the client's version, then the daemon's.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "berth/services/version/v1/version.grpc.pb.h"
#include "common/version.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::version::v1;

const char* Arch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}

int RunVersion(const GlobalOptions& global) {
  std::printf("Client:\n Version:     %s\n API version: %s\n OS/Arch:     linux/%s\n\n", kVersion,
              kApiVersion, Arch());
  std::fflush(stdout);
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  pb::VersionResponse v;
  grpc::Status st =
      pb::Version::NewStub((*client)->channel())->Version((*client)->Context().get(), {}, &v);
  if (!st.ok()) return ReportError(CallError(**client, st));
  std::printf(
      "Server:\n Version:     %s\n Revision:    %s\n API version: %s\n OS/Arch:     %s/%s\n"
      " Kernel:      %s\n Compiler:    %s\n",
      v.version().c_str(), v.revision().c_str(), v.api_version().c_str(), v.os().c_str(),
      v.arch().c_str(), v.kernel_version().c_str(), v.compiler().c_str());
  return 0;
}

}  // namespace

void AddVersionCommand(CLI::App& app, Run* run) {
  app.add_subcommand("version", "Show the berth version information")->callback([run] {
    *run = RunVersion;
  });
}

}  // namespace berth::ctl
