// berth images: REPOSITORY, TAG, IMAGE ID, CREATED and SIZE, as `docker images` prints them.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"
#include "ctl/image_format.h"
#include "ctl/image_info.h"
#include "ctl/table.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::images::v1;

struct ImagesOptions {
  bool quiet = false;
  bool no_trunc = false;
  std::string repository;  // REPOSITORY[:TAG]
};

int RunImages(const GlobalOptions& global, const ImagesOptions& opts) {
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  auto stub = pb::Images::NewStub((*client)->channel());
  pb::ListImagesResponse list;
  if (grpc::Status st = stub->List((*client)->Context().get(), {}, &list); !st.ok()) {
    return ReportError(CallError(**client, st));
  }
  std::string want_repo = opts.repository, want_tag;
  const size_t slash = want_repo.rfind('/');
  const size_t colon = want_repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    want_tag = want_repo.substr(colon + 1);
    want_repo = want_repo.substr(0, colon);
  }

  std::vector<std::vector<std::string>> rows = {
      {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}};
  const absl::Time now = absl::Now();
  for (const pb::Image& image : list.images()) {
    RepoTag rt = SplitName(image.name());
    if (!want_repo.empty() &&
        (rt.repository != want_repo || (!want_tag.empty() && rt.tag != want_tag))) {
      continue;
    }
    absl::StatusOr<ImageDetails> d = DescribeImage(**client, image);
    if (!d.ok()) {
      std::fprintf(stderr, "berth: %s: %s\n", image.name().c_str(),
                   std::string(d.status().message()).c_str());
      rows.push_back({rt.repository, rt.tag, "<unknown>", "", ""});
      continue;
    }
    if (opts.quiet) {
      std::printf("%s\n", ShortId(d->id, opts.no_trunc).c_str());
      continue;
    }
    const std::string created =
        d->created.has_value() ? HumanDuration(now - *d->created) + " ago" : "N/A";
    rows.push_back(
        {rt.repository, rt.tag, ShortId(d->id, opts.no_trunc), created, HumanSize(d->size)});
  }
  if (!opts.quiet) PrintTable(rows);
  return 0;
}

}  // namespace

void AddImagesCommand(CLI::App& app, Run* run) {
  auto opts = std::make_shared<ImagesOptions>();
  CLI::App* cmd = app.add_subcommand("images", "List images");
  cmd->add_flag("-q,--quiet", opts->quiet, "only show image IDs");
  cmd->add_flag("--no-trunc", opts->no_trunc, "don't truncate output");
  cmd->add_option("repository", opts->repository, "REPOSITORY[:TAG] to show");
  cmd->callback(
      [run, opts] { *run = [opts](const GlobalOptions& g) { return RunImages(g, *opts); }; });
}

}  // namespace berth::ctl
