// berth ps: containers as `docker ps` lists them — the table, -a/-l/-n, -q, --no-trunc, -s,
// --filter and --format.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "ctl/commands.h"
#include "ctl/container/format.h"
#include "ctl/container/labels.h"
#include "ctl/container/names.h"
#include "ctl/container/ps_filter.h"
#include "ctl/container/template.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

using nlohmann::json;

struct PsFlags {
  bool all = false, latest = false, quiet = false, no_trunc = false, size = false;
  int last = -1;
  std::vector<std::string> filters;
  std::string format;
};

absl::Time Created(const ContainerView& v) {
  return absl::FromUnixSeconds(v.record.created_at().seconds()) +
         absl::Nanoseconds(v.record.created_at().nanos());
}

std::vector<std::string> Args(const ContainerView& v) {
  const json spec = json::parse(v.record.spec(), nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> args;
  if (spec.is_object() && spec.contains("process") && spec["process"].contains("args")) {
    for (const json& a : spec["process"]["args"]) {
      if (a.is_string()) args.push_back(a.get<std::string>());
    }
  }
  return args;
}

// One container as --format templates see it: Docker's field names.
json Item(Client& client, ImageCache& images, const ContainerView& v, const PsFlags& f,
          absl::Time now) {
  std::map<std::string, std::string> labels;
  for (const auto& [k, val] : v.record.labels()) {
    if (!absl::StartsWith(k, "berth.io/")) labels[k] = val;
  }
  std::string size;
  if (f.size) {
    const int64_t rw = SnapshotUsage(client, v.record);
    const ImageDetails* d = images.Get(v.record.image());
    size = PsSize(rw, rw + (d != nullptr ? d->size : 0));
  }
  const absl::Time created = Created(v);
  return json{
      {"ID", f.no_trunc ? v.record.id() : ShortContainerId(v.record.id())},
      {"Image", DisplayImage(v.record.image())},
      {"Command", PsCommand(Args(v), f.no_trunc)},
      {"CreatedAt", absl::FormatTime("%Y-%m-%d %H:%M:%S %z %Z", created, absl::LocalTimeZone())},
      {"RunningFor", Ago(created, now)},
      // The addresses the daemon bound for -p, while the container runs.
      {"Ports", v.running() ? LabelOf(v.record, kLabelPublishedPorts) : ""},
      {"State", StateName(v.state.status)},
      {"Status", StatusText(v.state, now)},
      {"Size", size},
      {"Names", v.record.name()},
      {"Labels", absl::StrJoin(labels, ",", absl::PairFormatter("="))},
      {"Label", labels},
      {"Mounts", ""},
      {"Networks", ""},
      {"LocalVolumes", "0"},
  };
}

int RunPs(const GlobalOptions& global, const PsFlags& f) {
  absl::StatusOr<PsFilter> filter = PsFilter::Parse(f.filters);
  if (!filter.ok()) return Failed(filter.status());
  std::string format = f.format;
  if (f.quiet) {
    if (!format.empty()) {
      std::fprintf(stderr,
                   "WARNING: Ignoring custom format, because both --format and "
                   "--quiet are set.\n");
    }
    format = "{{.ID}}";
  } else if (format.empty()) {
    format = "table";
  }
  std::string table = kDefaultPsFormat;
  if (f.size) table += "\t{{.Size}}";
  absl::StatusOr<Template> tmpl = Template::Parse(format, table);
  if (!tmpl.ok()) return Failed(tmpl.status());

  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());
  ContainerApi api(**client);
  absl::StatusOr<std::vector<ContainerView>> list = api.List();
  if (!list.ok()) return Failed(list.status());

  int limit = f.latest ? 1 : f.last;
  const bool all = f.all || limit > 0 || filter->ImpliesAll();
  ImageCache images(**client);
  const absl::Time now = absl::Now();
  std::vector<json> items;
  for (const ContainerView& v : *list) {
    if (limit > 0 && static_cast<int>(items.size()) >= limit) break;
    if (!all && !v.running()) continue;
    if (!filter->empty()) {
      PsCandidate c{.id = v.record.id(),
                    .name = v.record.name(),
                    .image = v.record.image(),
                    .labels = {v.record.labels().begin(), v.record.labels().end()},
                    .status = v.state.status,
                    .exit_code = v.state.exit_code};
      if (const ImageDetails* d = images.Get(v.record.image())) c.image_id = d->id;
      if (!filter->Match(c)) continue;
    }
    items.push_back(Item(**client, images, v, f, now));
  }
  absl::StatusOr<std::string> out = Render(*tmpl, items, ContainerHeaders());
  if (!out.ok()) return Failed(out.status());
  std::fputs(out->c_str(), stdout);
  return 0;
}

}  // namespace

void AddPsCommand(CLI::App& app, Run* run) {
  CLI::App* cmd = app.add_subcommand("ps", "List containers");
  auto f = std::make_shared<PsFlags>();
  cmd->add_flag("-a,--all", f->all, "show all containers (default shows just running)");
  cmd->add_option("-f,--filter", f->filters,
                  "filter output based on conditions provided (status, name, id, label, "
                  "ancestor, exited)")
      ->allow_extra_args(false);
  cmd->add_option("--format", f->format,
                  "format output using a Go template ('table', 'table TEMPLATE', 'json' or "
                  "TEMPLATE)");
  cmd->add_option("-n,--last", f->last, "show n last created containers (includes all states)");
  cmd->add_flag("-l,--latest", f->latest,
                "show the latest created container (includes all "
                "states)");
  cmd->add_flag("--no-trunc", f->no_trunc, "don't truncate output");
  cmd->add_flag("-q,--quiet", f->quiet, "only display container IDs");
  cmd->add_flag("-s,--size", f->size, "display total file sizes");
  cmd->callback([run, f] { *run = [f](const GlobalOptions& g) { return RunPs(g, *f); }; });
}

}  // namespace berth::ctl
