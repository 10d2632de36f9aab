// berth image prune, berth system df and berth system prune: what is unused, how much disk it
// takes, and removing it, with Docker's prompts and output. Volumes are counted but not
// measured (the volumes service does not size them); the build cache is not counted yet.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container/template.h"
#include "ctl/container/units.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"
#include "ctl/prune.h"
#include "ctl/volume_api.h"

namespace berth::ctl {
namespace {

namespace ipb = berth::services::images::v1;
using nlohmann::json;

struct PruneFlags {
  bool all = false, force = false, volumes = false;
  std::vector<std::string> filters;
};

int RunImagePrune(const GlobalOptions& global, const PruneFlags& f) {
  absl::StatusOr<PruneFilter> filter = PruneFilter::Parse(f.filters, absl::Now());
  if (!filter.ok()) return Failed(filter.status());
  const std::string warning =
      f.all ? "WARNING! This will remove all images without at least one container associated "
              "to them.\nAre you sure you want to continue?"
            : "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";
  if (!f.force && !Confirm(warning)) {
    std::printf("Total reclaimed space: %s\n", HumanSize4(0).c_str());
    return 0;
  }
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());
  absl::StatusOr<PruneReport> report = PruneImages(**client, *filter, f.all);
  if (!report.ok()) return Failed(report.status());
  std::fputs(report->Text("Deleted Images:").c_str(), stdout);
  std::printf("Total reclaimed space: %s\n", HumanSize4(report->reclaimed).c_str());
  return report->errors ? kExitError : 0;
}

int RunSystemPrune(const GlobalOptions& global, const PruneFlags& f) {
  absl::StatusOr<PruneFilter> filter = PruneFilter::Parse(f.filters, absl::Now());
  if (!filter.ok()) return Failed(filter.status());
  const std::string warning = absl::StrCat(
      "WARNING! This will remove:\n  - all stopped containers\n",
      f.volumes ? "  - all anonymous volumes not used by at least one container\n" : "",
      f.all ? "  - all images without at least one container associated to them\n"
            : "  - all dangling images\n",
      "\nAre you sure you want to continue?");
  if (!f.force && !Confirm(warning)) {
    std::printf("Total reclaimed space: %s\n", HumanSize4(0).c_str());
    return 0;
  }
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());
  absl::StatusOr<PruneReport> containers = PruneContainers(**client, *filter);
  if (!containers.ok()) return Failed(containers.status());
  std::fputs(containers->Text("Deleted Containers:").c_str(), stdout);
  int64_t reclaimed = containers->reclaimed;
  if (f.volumes) {
    absl::StatusOr<berth::services::volumes::v1::PruneVolumesResponse> volumes =
        VolumeApi(**client).Prune({});
    if (!volumes.ok()) return Failed(volumes.status());
    PruneReport r;
    r.lines.assign(volumes->removed().begin(), volumes->removed().end());
    std::fputs(r.Text("Deleted Volumes:").c_str(), stdout);
    reclaimed += static_cast<int64_t>(volumes->reclaimed_bytes());
  }
  absl::StatusOr<PruneReport> images = PruneImages(**client, *filter, f.all);
  if (!images.ok()) return Failed(images.status());
  std::fputs(images->Text("Deleted Images:").c_str(), stdout);
  reclaimed += images->reclaimed;
  std::printf("Total reclaimed space: %s\n", HumanSize4(static_cast<double>(reclaimed)).c_str());
  return containers->errors || images->errors ? kExitError : 0;
}

// Docker's "4.26MB (100%)"; just the size when there is nothing.
std::string Reclaimable(int64_t reclaimable, int64_t total) {
  if (total <= 0) return HumanSize4(static_cast<double>(reclaimable));
  return absl::StrCat(HumanSize4(static_cast<double>(reclaimable)), " (", reclaimable * 100 / total,
                      "%)");
}

int RunDf(const GlobalOptions& global, const std::string& format) {
  absl::StatusOr<Template> tmpl =
      Template::Parse(format.empty() ? "table" : format,
                      "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}");
  if (!tmpl.ok()) return Failed(tmpl.status());
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());
  ContainerApi api(**client);
  absl::StatusOr<std::vector<ContainerView>> containers = api.List();
  if (!containers.ok()) return Failed(containers.status());
  ipb::ListImagesResponse list;
  if (grpc::Status st =
          ipb::Images::NewStub((*client)->channel())->List((*client)->Context().get(), {}, &list);
      !st.ok()) {
    return Failed(CallError(**client, st));
  }
  absl::StatusOr<int64_t> content = ContentBytes(**client);
  if (!content.ok()) return Failed(content.status());

  ImageCache images(**client);
  std::map<std::string, int64_t> image_bytes;  // by config id
  std::set<std::string> active_ids;
  for (const ipb::Image& image : list.images()) {
    if (const ImageDetails* d = images.Get(image.name())) image_bytes[d->id] = d->size;
  }
  int64_t c_size = 0, c_reclaimable = 0;
  int running = 0;
  for (const ContainerView& v : *containers) {
    const int64_t size = SnapshotUsage(**client, v.record);
    c_size += size;
    if (v.running()) {
      ++running;
    } else {
      c_reclaimable += size;
    }
    if (const ImageDetails* d = images.Get(v.record.image())) active_ids.insert(d->id);
  }
  int64_t inactive_bytes = 0;
  for (const auto& [id, bytes] : image_bytes) {
    if (active_ids.count(id) == 0) inactive_bytes += bytes;
  }
  const int64_t i_reclaimable = std::min(inactive_bytes, *content);
  int volumes_total = 0, volumes_active = 0;
  if (absl::StatusOr<std::vector<VolumeApi::Volume>> volumes = VolumeApi(**client).List();
      volumes.ok()) {
    for (const VolumeApi::Volume& v : *volumes) {
      ++volumes_total;
      if (v.ref_count() > 0) ++volumes_active;
    }
  }
  std::vector<json> rows = {
      {{"Type", "Images"},
       {"TotalCount", absl::StrCat(image_bytes.size())},
       {"Active", absl::StrCat(active_ids.size())},
       {"Size", HumanSize4(static_cast<double>(*content))},
       {"Reclaimable", Reclaimable(i_reclaimable, *content)}},
      {{"Type", "Containers"},
       {"TotalCount", absl::StrCat(containers->size())},
       {"Active", absl::StrCat(running)},
       {"Size", HumanSize4(static_cast<double>(c_size))},
       {"Reclaimable", Reclaimable(c_reclaimable, c_size)}},
      {{"Type", "Local Volumes"},
       {"TotalCount", absl::StrCat(volumes_total)},
       {"Active", absl::StrCat(volumes_active)},
       // The volumes service does not measure its volumes' contents.
       {"Size", volumes_total > 0 ? "N/A" : "0B"},
       {"Reclaimable", volumes_total > 0 ? "N/A" : "0B"}},
      {{"Type", "Build Cache"},
       {"TotalCount", "0"},
       {"Active", "0"},
       {"Size", "0B"},
       {"Reclaimable", "0B"}},
  };
  static const HeaderNames kHeaders = {{"Type", "TYPE"},
                                       {"TotalCount", "TOTAL"},
                                       {"Active", "ACTIVE"},
                                       {"Size", "SIZE"},
                                       {"Reclaimable", "RECLAIMABLE"}};
  absl::StatusOr<std::string> out = Render(*tmpl, rows, kHeaders);
  if (!out.ok()) return Failed(out.status());
  std::fputs(out->c_str(), stdout);
  return 0;
}

void AddPruneFlags(CLI::App* cmd, PruneFlags* f, const std::string& all_help) {
  cmd->add_flag("-a,--all", f->all, all_help);
  cmd->add_flag("-f,--force", f->force, "do not prompt for confirmation");
  cmd->add_option("--filter", f->filters,
                  "provide filter values (e.g. 'until=24h', 'label=k=v', 'label!=k')")
      ->allow_extra_args(false);
}

}  // namespace

void AddImagePruneCommand(CLI::App& app, Run* run) {
  CLI::App* image = app.get_subcommand("image");
  auto f = std::make_shared<PruneFlags>();
  CLI::App* cmd = image->add_subcommand("prune", "Remove unused images");
  AddPruneFlags(cmd, f.get(), "remove all unused images, not just dangling ones");
  cmd->callback([run, f] { *run = [f](const GlobalOptions& g) { return RunImagePrune(g, *f); }; });
}

void AddSystemDfCommand(CLI::App& system, Run* run) {
  auto format = std::make_shared<std::string>();
  CLI::App* df = system.add_subcommand("df", "Show berth disk usage");
  df->add_option("--format", *format, "format output using a Go template ('table' or TEMPLATE)");
  df->callback(
      [run, format] { *run = [format](const GlobalOptions& g) { return RunDf(g, *format); }; });
}

void AddSystemPruneCommand(CLI::App& system, Run* run) {
  auto f = std::make_shared<PruneFlags>();
  CLI::App* prune = system.add_subcommand("prune", "Remove unused data");
  AddPruneFlags(prune, f.get(), "remove all unused images, not just dangling ones");
  prune->add_flag("--volumes", f->volumes, "prune anonymous volumes");
  prune->callback(
      [run, f] { *run = [f](const GlobalOptions& g) { return RunSystemPrune(g, *f); }; });
}

}  // namespace berth::ctl
