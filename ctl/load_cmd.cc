// berth load: streams an image archive (OCI layout or docker-archive, from a file or stdin)
// to the daemon, drawing its progress on a terminal, then names the images it loaded.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "common/grpc_status.h"
#include "ctl/commands.h"
#include "ctl/image_format.h"
#include "ctl/image_info.h"

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

std::string Short(const std::string& ref) {
  constexpr char kBlobs[] = "blobs/sha256/";
  if (ref.rfind(kBlobs, 0) == 0) return ref.substr(sizeof(kBlobs) - 1, 12);
  return ref;
}

void ShowProgress(const berth::types::v1::Progress& p, bool tty) {
  if (p.status() == "named") return;
  if (p.status() == "unpacked") {  // offset/total count layers here, not bytes
    std::fprintf(stderr, "%s%s: unpacked %lld/%lld layers\n", tty ? "\r\033[K" : "",
                 FamiliarName(p.ref()).c_str(), static_cast<long long>(p.offset()),
                 static_cast<long long>(p.total()));
    return;
  }
  if (tty) {
    std::fprintf(stderr, "\r\033[K%s: %-8s %s/%s", Short(p.ref()).c_str(), p.status().c_str(),
                 HumanSize(p.offset()).c_str(), HumanSize(p.total()).c_str());
    std::fflush(stderr);
  } else if (p.status() == "done" || p.status() == "exists") {
    std::fprintf(stderr, "%s: %s %s\n", Short(p.ref()).c_str(), p.status().c_str(),
                 HumanSize(p.total()).c_str());
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
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(global);
  if (!client.ok()) return ReportError(client.status());
  if (absl::Status st = (*client)->Connect(); !st.ok()) return ReportError(st);
  auto stub = pb::Images::NewStub((*client)->channel());
  auto ctx = (*client)->Context();
  auto stream = stub->Import(ctx.get());

  const bool tty = !opts.quiet && isatty(2);
  std::vector<pb::Image> loaded;
  // Progress flows while the upload goes on: read it on its own thread, or both sides stall.
  std::thread reader([&] {
    pb::ImportImageResponse resp;
    while (stream->Read(&resp)) {
      if (!opts.quiet) {
        for (const auto& p : resp.progress()) ShowProgress(p, tty);
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
  if (tty) std::fprintf(stderr, "\r\033[K");
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
