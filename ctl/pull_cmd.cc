// berth pull: asks the daemon to pull an image from its registry, with the credentials that
// `berth login` stored for that registry, and draws the per-layer progress it streams back
// the way Docker's CLI does.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"
#include "ctl/image_format.h"
#include "ctl/registry_auth.h"
#include "ctl/transfer_display.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::images::v1;

struct PullOptions {
  std::string name;
  std::string platform;
  bool all_platforms = false;
  bool quiet = false;
  bool no_unpack = false;
  std::string snapshotter;
};

absl::Status ParsePlatform(const std::string& text, berth::types::v1::Platform* out) {
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  if (parts.size() == 1 && !parts[0].empty()) {
    out->set_os("linux");
    out->set_architecture(parts[0]);
    return absl::OkStatus();
  }
  if ((parts.size() == 2 || parts.size() == 3) && !parts[0].empty() && !parts[1].empty()) {
    out->set_os(parts[0]);
    out->set_architecture(parts[1]);
    if (parts.size() == 3) out->set_variant(parts[2]);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid platform \"", text, "\": want os/arch[/variant], e.g. linux/amd64"));
}

// "docker.io/library/busybox:latest" → "library/busybox"; "localhost:5000/x@sha256:…" → "x".
std::string RemotePath(const std::string& full) {
  std::string repo = full.substr(0, full.find('@'));
  if (const size_t colon = repo.rfind(':'); colon != std::string::npos && colon > repo.rfind('/')) {
    repo = repo.substr(0, colon);
  }
  const size_t slash = repo.find('/');
  return slash == std::string::npos ? repo : repo.substr(slash + 1);
}

bool HasTagOrDigest(const std::string& name) {
  if (name.find('@') != std::string::npos) return true;
  const size_t colon = name.rfind(':');
  return colon != std::string::npos &&
         (name.rfind('/') == std::string::npos || colon > name.rfind('/'));
}

int RunPull(const GlobalOptions& global, const PullOptions& opts) {
  pb::PullImageRequest req;
  req.set_ref(opts.name);
  if (!opts.platform.empty()) {
    if (absl::Status st = ParsePlatform(opts.platform, req.mutable_platform()); !st.ok()) {
      return ReportError(st);
    }
  }
  req.set_all_platforms(opts.all_platforms);
  req.set_unpack(!opts.no_unpack);
  req.set_snapshotter(opts.snapshotter);
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
  auto stream = stub->Pull(ctx.get(), req);

  if (!opts.quiet && !HasTagOrDigest(opts.name)) std::printf("Using default tag: latest\n");
  TransferDisplay display(stdout, isatty(1));
  std::set<std::string> layers;      // digests shown as layers
  std::set<std::string> downloaded;  // layers fetched now, to say "Pull complete" once unpacked
  std::string final_status, digest, name;
  pb::PullImageResponse resp;
  while (stream->Read(&resp)) {
    for (const auto& p : resp.progress()) {
      if (opts.quiet) continue;
      const std::string& s = p.status();
      if (s == "resolved") {
        const std::string full = p.ref();
        const size_t at = full.find('@');
        const std::string ref_part =
            at != std::string::npos ? full.substr(at + 1) : full.substr(full.rfind(':') + 1);
        display.Print(absl::StrCat(ref_part, ": Pulling from ", RemotePath(full)));
        continue;
      }
      if (s == "extracted") {  // a layer unpacked while others may still download
        if (downloaded.count(p.ref()) > 0) display.Update(ShortId(p.ref(), false), "Pull complete");
        continue;
      }
      if (s == "unpacked") {
        for (const std::string& d : downloaded) display.Update(ShortId(d, false), "Pull complete");
        continue;
      }
      if (s == "up to date" || s == "downloaded") {
        final_status = s;
        digest = p.message();
        continue;
      }
      if (p.message() != "layer" && !(s == "retrying" && layers.count(p.ref()) > 0)) continue;
      layers.insert(p.ref());
      const std::string id = ShortId(p.ref(), false);
      if (s == "waiting") {
        display.Update(id, "Pulling fs layer");
      } else if (s == "downloading") {
        display.Update(id, "Downloading", p.offset(), p.total(), true);
      } else if (s == "retrying") {
        display.Update(id, absl::StrCat("Retrying (", p.message(), ")"));
      } else if (s == "verifying") {
        display.Update(id, "Verifying Checksum");
      } else if (s == "done") {
        downloaded.insert(p.ref());
        display.Update(id, "Download complete");
      } else if (s == "exists") {
        display.Update(id, "Already exists");
      }
    }
    if (resp.has_image()) {
      name = resp.image().name();
      if (digest.empty()) digest = resp.image().target().digest();
    }
  }
  grpc::Status st = stream->Finish();
  if (!st.ok()) return ReportError(CallError(**client, st));
  if (!opts.quiet) {
    std::printf("Digest: %s\n", digest.c_str());
    std::printf("Status: %s for %s\n",
                final_status == "up to date" ? "Image is up to date" : "Downloaded newer image",
                FamiliarName(name).c_str());
  }
  std::printf("%s\n", name.c_str());
  return 0;
}

}  // namespace

void AddPullCommand(CLI::App& app, Run* run) {
  auto opts = std::make_shared<PullOptions>();
  CLI::App* cmd = app.add_subcommand("pull", "Download an image from a registry");
  cmd->add_option("NAME", opts->name, "NAME[:TAG|@DIGEST]")->required();
  cmd->add_option("--platform", opts->platform,
                  "take this platform (os/arch[/variant]) from a multi-platform image");
  cmd->add_flag("--all-platforms", opts->all_platforms,
                "fetch every platform of a multi-platform image (no unpack)");
  cmd->add_flag("-q,--quiet", opts->quiet, "suppress verbose output");
  cmd->add_flag("--no-unpack", opts->no_unpack,
                "only store the image; do not unpack its layers into a snapshotter");
  cmd->add_option("--snapshotter", opts->snapshotter,
                  "snapshotter to unpack into (default: the daemon's)");
  cmd->callback(
      [run, opts] { *run = [opts](const GlobalOptions& g) { return RunPull(g, *opts); }; });
}

}  // namespace berth::ctl
