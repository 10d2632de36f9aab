// berth save: writes one or more images to a tar archive, docker-archive by default (with an
// OCI layout inside, as Docker 25 writes it) or a plain OCI layout with --format oci.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::images::v1;

struct SaveOptions {
  std::string output;
  std::string format = "docker";
  std::string platform;
  std::vector<std::string> images;
};

absl::Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(absl::StrCat("write ", path, ": ", std::strerror(errno)));
    off += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

int RunSave(const GlobalOptions& global, const SaveOptions& opts) {
  pb::ExportImageRequest req;
  if (opts.format == "oci") {
    req.set_format(pb::EXPORT_FORMAT_OCI);
  } else if (opts.format != "docker") {
    return ReportError(absl::InvalidArgumentError(
        absl::StrCat("unknown format \"", opts.format, "\": use docker or oci")));
  }
  if (!opts.platform.empty()) {
    std::vector<std::string> parts = absl::StrSplit(opts.platform, '/');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
      return ReportError(absl::InvalidArgumentError(absl::StrCat(
          "invalid platform \"", opts.platform, "\": use os/arch[/variant], e.g. linux/amd64")));
    }
    req.mutable_platform()->set_os(parts[0]);
    req.mutable_platform()->set_architecture(parts[1]);
    if (parts.size() == 3) req.mutable_platform()->set_variant(parts[2]);
  }
  if (opts.output.empty() && isatty(1)) {
    return ReportError(absl::InvalidArgumentError(
        "refusing to write an archive to a terminal; use -o FILE or redirect"));
  }
  for (const std::string& i : opts.images) req.add_names(i);
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  auto stub = pb::Images::NewStub((*client)->channel());

  int fd = 1;
  std::string path = "stdout";
  std::string tmp;
  if (!opts.output.empty()) {
    // Written beside the target and renamed at the end: a failed save leaves no half archive.
    path = opts.output;
    tmp = absl::StrCat(opts.output, ".berth-save-", getpid());
    fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      return ReportError(
          absl::InternalError(absl::StrCat("create ", tmp, ": ", std::strerror(errno))));
    }
  }
  auto ctx = (*client)->Context();
  auto reader = stub->Export(ctx.get(), req);
  pb::ExportImageResponse resp;
  absl::Status write_error;
  while (reader->Read(&resp)) {
    write_error = WriteAll(fd, resp.data(), path);
    if (!write_error.ok()) {
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status st = reader->Finish();
  absl::Status result = write_error.ok() ? CallError(**client, st) : write_error;
  if (write_error.ok() && st.ok()) result = absl::OkStatus();
  if (!tmp.empty()) {
    if (result.ok() && fsync(fd) != 0) {
      result = absl::InternalError(absl::StrCat("fsync ", tmp, ": ", std::strerror(errno)));
    }
    close(fd);
    if (result.ok() && rename(tmp.c_str(), opts.output.c_str()) != 0) {
      result = absl::InternalError(
          absl::StrCat("rename ", tmp, " to ", opts.output, ": ", std::strerror(errno)));
    }
    if (!result.ok()) unlink(tmp.c_str());
  }
  if (!result.ok()) return ReportError(result);
  return 0;
}

}  // namespace

void AddSaveCommand(CLI::App& app, Run* run) {
  auto opts = std::make_shared<SaveOptions>();
  CLI::App* cmd = app.add_subcommand(
      "save", "Save one or more images to a tar archive (streamed to STDOUT by default)");
  cmd->add_option("-o,--output", opts->output, "write to a file, instead of STDOUT");
  cmd->add_option("--format", opts->format,
                  "docker (docker-archive with an OCI layout inside) or oci (OCI layout only)");
  cmd->add_option("--platform", opts->platform, "save only this platform (os/arch[/variant])");
  cmd->add_option("images", opts->images, "images to save")->required();
  cmd->callback(
      [run, opts] { *run = [opts](const GlobalOptions& g) { return RunSave(g, *opts); }; });
}

}  // namespace berth::ctl
