// berth volume create|ls|inspect|rm|prune, with Docker's flags and output.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "ctl/commands.h"
#include "ctl/container/template.h"
#include "ctl/container/units.h"
#include "ctl/volume_api.h"

namespace berth::ctl {
namespace {

using json = nlohmann::json;
using Volume = VolumeApi::Volume;

constexpr char kDefaultVolumeFormat[] = "table {{.Driver}}\t{{.Name}}";

const HeaderNames& VolumeHeaders() {
  static const auto* names = new HeaderNames{
      {"Name", "VOLUME NAME"},      {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
      {"Mountpoint", "MOUNTPOINT"}, {"Labels", "LABELS"}, {"Label", "LABEL"},
      {"Links", "LINKS"},           {"Size", "SIZE"},     {"CreatedAt", "CREATED AT"}};
  return *names;
}

absl::StatusOr<std::unique_ptr<Client>> Connected(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Client::Create(global));
  RETURN_IF_ERROR(client->Connect());
  return client;
}

std::string CreatedAt(const Volume& v) {
  const absl::Time t = absl::FromUnixSeconds(v.created_at().seconds());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::map<std::string, std::string> KeyValues(const std::vector<std::string>& items) {
  std::map<std::string, std::string> out;
  for (const std::string& kv : items) {
    const size_t eq = kv.find('=');
    out[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  return out;
}

// `docker volume inspect`'s document.
json InspectJson(const Volume& v) {
  json labels = json::object(), options = json::object();
  for (const auto& [k, val] : v.labels()) labels[k] = val;
  for (const auto& [k, val] : v.options()) options[k] = val;
  return {{"CreatedAt", CreatedAt(v)},
          {"Driver", v.driver()},
          {"Labels", labels.empty() ? json(nullptr) : labels},
          {"Mountpoint", v.mountpoint()},
          {"Name", v.name()},
          {"Options", options.empty() ? json(nullptr) : options},
          {"Scope", "local"}};
}

// `docker volume ls --format`'s fields.
json LsItem(const Volume& v) {
  json label = json::object();
  std::vector<std::string> pairs;
  for (const auto& [k, val] :
       std::map<std::string, std::string>(v.labels().begin(), v.labels().end())) {
    label[k] = val;
    pairs.push_back(absl::StrCat(k, "=", val));
  }
  return {{"Name", v.name()},
          {"Driver", v.driver()},
          {"Scope", "local"},
          {"Mountpoint", v.mountpoint()},
          {"Labels", absl::StrJoin(pairs, ",")},
          {"Label", label},
          {"Links", absl::StrCat(v.ref_count())},
          {"Size", "N/A"},
          {"CreatedAt", CreatedAt(v)}};
}

std::string Quote(const std::string& s) {
  return json(s).dump();  // JSON string quoting is what the service's filter parser reads
}

// Docker's --filter KEY=VALUE for volumes → the service's filter strings: values of one key
// are alternatives, different keys must all hold (so the product of the alternatives).
absl::StatusOr<std::vector<std::string>> ServiceFilters(const std::vector<std::string>& flags,
                                                        bool prune, bool* all) {
  std::map<std::string, std::vector<std::string>> by_key;
  for (const std::string& f : flags) {
    const size_t eq = f.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad format of filter (expected name=value): ", f));
    }
    const std::string key = f.substr(0, eq), value = f.substr(eq + 1);
    std::string cond;
    if (key == "name") {
      cond = absl::StrCat("name~=", Quote(value));
    } else if (key == "driver") {
      cond = absl::StrCat("driver==", Quote(value));
    } else if (key == "label" || key == "label!") {
      const size_t e = value.find('=');
      const std::string k = value.substr(0, e);
      const std::string field = absl::StrCat("labels.", Quote(k));
      if (key == "label!") {
        cond = e == std::string::npos ? absl::StrCat(field, "!=", Quote(""))
                                      : absl::StrCat(field, "!=", Quote(value.substr(e + 1)));
      } else {
        cond =
            e == std::string::npos ? field : absl::StrCat(field, "==", Quote(value.substr(e + 1)));
      }
    } else if (key == "dangling" && !prune) {
      if (value != "true" && value != "false" && value != "1" && value != "0") {
        return absl::InvalidArgumentError(absl::StrCat("invalid filter 'dangling=", value, "'"));
      }
      cond = absl::StrCat("dangling==", value == "true" || value == "1" ? "true" : "false");
    } else if (key == "all" && prune) {
      *all = value == "true" || value == "1";
      continue;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter '", key, "'"));
    }
    by_key[key].push_back(cond);
  }
  std::vector<std::string> out = {""};
  for (const auto& [key, alternatives] : by_key) {
    std::vector<std::string> next;
    for (const std::string& base : out) {
      for (const std::string& a : alternatives) {
        next.push_back(base.empty() ? a : absl::StrCat(base, ",", a));
      }
    }
    out = std::move(next);
  }
  if (out.size() == 1 && out[0].empty()) out.clear();
  return out;
}

bool Confirm(const std::string& warning) {
  std::printf("%s\nAre you sure you want to continue? [y/N] ", warning.c_str());
  std::fflush(stdout);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

struct CreateFlags {
  std::string name, driver = "local";
  std::vector<std::string> labels, options;
  std::vector<std::string> args;
};

int RunCreate(const GlobalOptions& g, const CreateFlags& f) {
  std::string name = f.name;
  if (!f.args.empty()) {
    if (!name.empty() && name != f.args[0]) {
      return ReportError(absl::InvalidArgumentError(absl::StrCat(
          "conflicting options: either specify --name or provide positional arg, not both")));
    }
    name = f.args[0];
  }
  absl::StatusOr<std::unique_ptr<Client>> client = Connected(g);
  if (!client.ok()) return ReportError(client.status());
  VolumeApi api(**client);
  absl::StatusOr<Volume> v = api.Create(name, f.driver, KeyValues(f.labels), KeyValues(f.options));
  if (!v.ok()) return ReportError(v.status());
  std::printf("%s\n", v->name().c_str());
  return 0;
}

struct LsFlags {
  bool quiet = false;
  std::vector<std::string> filters;
  std::string format;
};

int RunLs(const GlobalOptions& g, const LsFlags& f) {
  bool all = false;
  absl::StatusOr<std::vector<std::string>> filters = ServiceFilters(f.filters, false, &all);
  if (!filters.ok()) return ReportError(filters.status());
  std::string format = f.quiet ? "{{.Name}}" : (f.format.empty() ? "table" : f.format);
  absl::StatusOr<Template> tmpl = Template::Parse(format, kDefaultVolumeFormat);
  if (!tmpl.ok()) return ReportError(tmpl.status());
  absl::StatusOr<std::unique_ptr<Client>> client = Connected(g);
  if (!client.ok()) return ReportError(client.status());
  VolumeApi api(**client);
  absl::StatusOr<std::vector<Volume>> list = api.List(*filters);
  if (!list.ok()) return ReportError(list.status());
  std::vector<json> items;
  for (const Volume& v : *list) items.push_back(LsItem(v));
  absl::StatusOr<std::string> out = Render(*tmpl, items, VolumeHeaders());
  if (!out.ok()) return ReportError(out.status());
  std::fputs(out->c_str(), stdout);
  return 0;
}

struct InspectFlags {
  std::string format;
  std::vector<std::string> names;
};

int RunInspect(const GlobalOptions& g, const InspectFlags& f) {
  absl::StatusOr<Template> tmpl = Template::Parse(f.format.empty() ? "{{json .}}" : f.format);
  if (!tmpl.ok()) return ReportError(tmpl.status());
  absl::StatusOr<std::unique_ptr<Client>> client = Connected(g);
  if (!client.ok()) return ReportError(client.status());
  VolumeApi api(**client);
  json all = json::array();
  int rc = 0;
  for (const std::string& name : f.names) {
    absl::StatusOr<Volume> v = api.Inspect(name);
    if (!v.ok()) {
      rc = ReportError(v.status());
      continue;
    }
    all.push_back(InspectJson(*v));
  }
  if (f.format.empty()) {
    std::printf("%s\n", all.dump(4).c_str());
    return rc;
  }
  for (const json& item : all) {
    absl::StatusOr<std::string> out = tmpl->Execute(item);
    if (!out.ok()) return ReportError(out.status());
    std::printf("%s\n", out->c_str());
  }
  return rc;
}

struct RmFlags {
  bool force = false;
  std::vector<std::string> names;
};

int RunRm(const GlobalOptions& g, const RmFlags& f) {
  absl::StatusOr<std::unique_ptr<Client>> client = Connected(g);
  if (!client.ok()) return ReportError(client.status());
  VolumeApi api(**client);
  int rc = 0;
  for (const std::string& name : f.names) {
    // As Docker's -f: a missing volume is not an error; one in use still is.
    absl::Status st = api.Remove(name);
    if (!st.ok() && !(f.force && absl::IsNotFound(st))) {
      rc = ReportError(st);
      continue;
    }
    std::printf("%s\n", name.c_str());
  }
  return rc;
}

struct PruneFlags {
  bool force = false, all = false;
  std::vector<std::string> filters;
};

int RunPrune(const GlobalOptions& g, const PruneFlags& f) {
  bool all = f.all;
  absl::StatusOr<std::vector<std::string>> filters = ServiceFilters(f.filters, true, &all);
  if (!filters.ok()) return ReportError(filters.status());
  if (all) {
    if (filters->empty()) filters->push_back("all==true");
    for (std::string& s : *filters) {
      if (s != "all==true") s += ",all==true";
    }
  }
  const std::string warning =
      all ? "WARNING! This will remove all local volumes not used by at least one container."
          : "WARNING! This will remove anonymous local volumes not used by at least one "
            "container.";
  if (!f.force && !Confirm(warning)) return 0;
  absl::StatusOr<std::unique_ptr<Client>> client = Connected(g);
  if (!client.ok()) return ReportError(client.status());
  VolumeApi api(**client);
  absl::StatusOr<berth::services::volumes::v1::PruneVolumesResponse> r = api.Prune(*filters);
  if (!r.ok()) return ReportError(r.status());
  if (r->removed_size() > 0) {
    std::printf("Deleted Volumes:\n");
    for (const std::string& n : r->removed()) std::printf("%s\n", n.c_str());
    std::printf("\n");
  }
  std::printf("Total reclaimed space: %s\n",
              HumanSize4(static_cast<double>(r->reclaimed_bytes())).c_str());
  return 0;
}

}  // namespace

void AddVolumeCommand(CLI::App& app, Run* run) {
  CLI::App* volume = app.add_subcommand("volume", "Manage volumes");
  volume->require_subcommand(1);

  auto cf = std::make_shared<CreateFlags>();
  CLI::App* create = volume->add_subcommand("create", "Create a volume");
  create->add_option("VOLUME", cf->args, "the volume's name (default: a random one)")
      ->expected(0, 1);
  create->add_option("--name", cf->name, "specify volume name");
  create->add_option("-d,--driver", cf->driver, "specify volume driver name (only \"local\")");
  create->add_option("--label", cf->labels, "set metadata for a volume (K=V)")
      ->allow_extra_args(false);
  create
      ->add_option("-o,--opt", cf->options,
                   "set driver specific options (type=tmpfs, device=…, o=size=…)")
      ->allow_extra_args(false);
  create->callback(
      [run, cf] { *run = [cf](const GlobalOptions& g) { return RunCreate(g, *cf); }; });

  auto lf = std::make_shared<LsFlags>();
  CLI::App* ls = volume->add_subcommand("ls", "List volumes");
  ls->alias("list");
  ls->add_flag("-q,--quiet", lf->quiet, "only display volume names");
  ls->add_option("-f,--filter", lf->filters,
                 "provide filter values (e.g. 'dangling=true', 'name=x', 'label=k=v', "
                 "'driver=local')")
      ->allow_extra_args(false);
  ls->add_option("--format", lf->format, "format output using a Go template, or 'table'");
  ls->callback([run, lf] { *run = [lf](const GlobalOptions& g) { return RunLs(g, *lf); }; });

  auto inf = std::make_shared<InspectFlags>();
  CLI::App* inspect = volume->add_subcommand("inspect", "Display detailed information on volumes");
  inspect->add_option("-f,--format", inf->format, "format output using a Go template");
  inspect->add_option("VOLUME", inf->names, "volume names")->required();
  inspect->callback(
      [run, inf] { *run = [inf](const GlobalOptions& g) { return RunInspect(g, *inf); }; });

  auto rf = std::make_shared<RmFlags>();
  CLI::App* rm = volume->add_subcommand("rm", "Remove one or more volumes");
  rm->alias("remove");
  rm->add_flag("-f,--force", rf->force, "do not fail for volumes that do not exist");
  rm->add_option("VOLUME", rf->names, "volume names")->required();
  rm->callback([run, rf] { *run = [rf](const GlobalOptions& g) { return RunRm(g, *rf); }; });

  auto pf = std::make_shared<PruneFlags>();
  CLI::App* prune = volume->add_subcommand("prune", "Remove unused local volumes");
  prune->add_flag("-f,--force", pf->force, "do not prompt for confirmation");
  prune->add_flag("-a,--all", pf->all, "remove all unused volumes, not just anonymous ones");
  prune->add_option("--filter", pf->filters, "provide filter values (e.g. 'label=k=v', 'all=true')")
      ->allow_extra_args(false);
  prune->callback([run, pf] { *run = [pf](const GlobalOptions& g) { return RunPrune(g, *pf); }; });
}

}  // namespace berth::ctl
