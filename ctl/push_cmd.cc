// berth push: asks the daemon to push a local image to its registry, with the credentials
// that `berth login` stored for that registry, and prints the per-layer progress and the
// pushed digest the way Docker's CLI does.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"
#include "ctl/image_format.h"
#include "ctl/registry_auth.h"
#include "ctl/transfer_display.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::images::v1;

struct PushOptions {
  std::string name;
  bool quiet = false;
};

int RunPush(const GlobalOptions& global, const PushOptions& opts) {
  pb::PushImageRequest req;
  req.set_name(opts.name);
  absl::StatusOr<absl::optional<RegistryCredentials>> creds =
      LoadCredentials(RegistryOfReference(opts.name));
  if (!creds.ok()) return ReportError(creds.status());
  if (creds->has_value()) {
    req.mutable_registry()->set_username((*creds)->username);
    req.mutable_registry()->set_password((*creds)->password);
  }
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  auto stub = pb::Images::NewStub((*client)->channel());
  auto ctx = (*client)->Context();
  auto stream = stub->Push(ctx.get(), req);

  TransferDisplay display(stdout, isatty(1));
  std::string dest;
  berth::types::v1::Descriptor pushed;
  pb::PushImageResponse resp;
  while (stream->Read(&resp)) {
    for (const auto& p : resp.progress()) {
      const std::string& s = p.status();
      if (s == "resolved") {
        dest = p.ref();
        const size_t cut = dest.find('@') != std::string::npos ? dest.find('@') : dest.rfind(':');
        const std::string repo =
            cut != std::string::npos && cut > dest.rfind('/') ? dest.substr(0, cut) : dest;
        if (!opts.quiet) display.Print(absl::StrCat("The push refers to repository [", repo, "]"));
        continue;
      }
      if (opts.quiet || p.message() == "config") continue;
      const std::string id = ShortId(p.ref(), false);
      if (s == "preparing") {
        display.Update(id, "Preparing");
      } else if (s == "pushing") {
        display.Update(id, "Pushing", p.offset(), p.total(), true);
      } else if (s == "pushed") {
        display.Update(id, "Pushed");
      } else if (s == "exists") {
        display.Update(id, "Layer already exists");
      } else if (s == "mounted") {
        display.Update(id, absl::StrCat("Mounted ", p.message()));
      }
    }
    if (resp.has_pushed()) pushed = resp.pushed();
  }
  grpc::Status st = stream->Finish();
  if (!st.ok()) return ReportError(CallError(**client, st));
  RepoTag rt = SplitName(dest);
  const std::string tag = rt.digest.empty() ? rt.tag : rt.digest;
  if (opts.quiet) {
    std::printf("%s\n", dest.c_str());
  } else {
    std::printf("%s: digest: %s size: %lld\n", tag.c_str(), pushed.digest().c_str(),
                static_cast<long long>(pushed.size()));
  }
  return 0;
}

}  // namespace

void AddPushCommand(CLI::App& app, Run* run) {
  auto opts = std::make_shared<PushOptions>();
  CLI::App* cmd = app.add_subcommand("push", "Upload an image to a registry");
  cmd->add_option("NAME", opts->name, "NAME[:TAG]")->required();
  cmd->add_flag("-q,--quiet", opts->quiet, "suppress verbose output");
  cmd->callback(
      [run, opts] { *run = [opts](const GlobalOptions& g) { return RunPush(g, *opts); }; });
}

}  // namespace berth::ctl
