// berth load: streams an image archive (OCI layout or docker-archive, from a file or stdin)
// to the daemon, showing each blob's progress (redrawn lines with bars on a terminal, as
// Docker's; plain lines on stderr otherwise), then names the images it loaded.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "common/grpc_status.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"
#include "ctl/image_format.h"
#include "ctl/image_info.h"
#include "ctl/transfer_display.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::images::v1;

constexpr size_t kChunk = 1 << 20;

struct LoadOptions {
  std::string input;
  bool quiet = false;
  // Like Docker, a loaded image is ready to run: its layers go into a snapshotter.
  bool no_unpack = false;
  std::string snapshotter;  // empty: the daemon's default
};

// The id a line is drawn for: 12 hex digits of a blob (OCI layout "blobs/sha256/<hex>",
// docker-archive "<hex>/layer.tar" or "<hex>.json"), else the archive path.
std::string Short(const std::string& ref) {
  absl::string_view hex = ref;
  if (absl::ConsumePrefix(&hex, "blobs/sha256/") || absl::ConsumeSuffix(&hex, "/layer.tar") ||
      absl::ConsumeSuffix(&hex, ".json")) {
    if (hex.size() == 64 && hex.find_first_not_of("0123456789abcdef") == std::string::npos) {
      return std::string(hex.substr(0, 12));
    }
  }
  return ref;
}

void ShowLoadProgress(TransferDisplay& display, const berth::types::v1::Progress& p, bool tty) {
  const std::string& s = p.status();
  if (s == "named") return;
  if (s == "unpacked") {  // offset/total count layers here, not bytes
    const std::string& name = p.ref();
    display.Print(absl::StrCat(
        IsDangling(name) ? ShortId(name.substr(name.find('@') + 1), false) : FamiliarName(name),
        ": unpacked ", p.offset(), "/", p.total(), " layers"));
    return;
  }
  const std::string id = Short(p.ref());
  if (s == "loading") {
    // Plain output has one line per blob, when it is in.
    if (tty) display.Update(id, "Loading", p.offset(), p.total(), /*bar=*/true);
  } else if (s == "done") {
    if (tty) {
      display.Update(id, "Loaded", p.total(), p.total(), /*bar=*/true);
    } else {
      display.Update(id, absl::StrCat("Loaded ", HumanSize(p.total())));
    }
  } else if (s == "exists") {
    display.Update(id, "Already exists");
  }
}

int RunLoad(const GlobalOptions& global, const LoadOptions& opts) {
  int fd = 0;
  if (!opts.input.empty()) {
    fd = open(opts.input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return ReportError(
          absl::NotFoundError(absl::StrCat("open ", opts.input, ": ", std::strerror(errno))));
    }
  } else if (isatty(0)) {
    return ReportError(absl::InvalidArgumentError(
        "requested load from stdin, but stdin is empty; use -i FILE or redirect an archive"));
  }
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  auto stub = pb::Images::NewStub((*client)->channel());
  auto ctx = (*client)->Context();
  auto stream = stub->Import(ctx.get());

  // On a terminal, Docker's redrawn lines on stdout; else plain lines on stderr, so that
  // stdout holds only what was loaded.
  const bool tty = isatty(1);
  TransferDisplay display(tty ? stdout : stderr, tty);
  std::vector<pb::Image> loaded;
  // Progress flows while the upload goes on: read it on its own thread, or both sides stall.
  std::thread reader([&] {
    pb::ImportImageResponse resp;
    while (stream->Read(&resp)) {
      if (!opts.quiet) {
        for (const auto& p : resp.progress()) ShowLoadProgress(display, p, tty);
      }
      for (const pb::Image& i : resp.images()) loaded.push_back(i);
    }
  });
  std::string buf(kChunk, '\0');
  absl::Status read_error;
  pb::ImportImageRequest req;
  // The options ride on the first message; the rest carry data only.
  req.set_unpack(!opts.no_unpack);
  req.set_snapshotter(opts.snapshotter);
  for (;;) {
    const ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      read_error = absl::InternalError(absl::StrCat(
          "read ", opts.input.empty() ? "stdin" : opts.input, ": ", std::strerror(errno)));
      ctx->TryCancel();
      break;
    }
    if (n == 0) break;
    req.set_data(buf.data(), static_cast<size_t>(n));
    if (!stream->Write(req)) break;  // the server stopped early: Finish says why
    req.clear_unpack();
    req.clear_snapshotter();
  }
  stream->WritesDone();
  reader.join();
  grpc::Status st = stream->Finish();
  if (fd > 0) close(fd);
  if (!read_error.ok()) return ReportError(read_error);
  if (!st.ok()) return ReportError(CallError(**client, st));
  for (const pb::Image& i : loaded) {
    if (!IsDangling(i.name())) {
      std::printf("Loaded image: %s\n", FamiliarName(i.name()).c_str());
      continue;
    }
    // As Docker says it of an image without a name: by its ID.
    absl::StatusOr<ImageDetails> d = DescribeImage(**client, i);
    std::printf("Loaded image ID: %s\n", d.ok() ? d->id.c_str() : i.target().digest().c_str());
  }
  return 0;
}

}  // namespace

void AddLoadCommand(CLI::App& app, Run* run) {
  auto opts = std::make_shared<LoadOptions>();
  CLI::App* cmd = app.add_subcommand("load", "Load images from a tar archive or STDIN");
  cmd->add_option("-i,--input", opts->input, "read from a tar archive file, instead of STDIN");
  cmd->add_flag("-q,--quiet", opts->quiet, "suppress the load output");
  cmd->add_flag("--no-unpack", opts->no_unpack,
                "only store the image; do not unpack its layers into a snapshotter");
  cmd->add_option("--snapshotter", opts->snapshotter,
                  "snapshotter to unpack into (default: the daemon's)");
  cmd->callback(
      [run, opts] { *run = [opts](const GlobalOptions& g) { return RunLoad(g, *opts); }; });
}

}  // namespace berth::ctl
