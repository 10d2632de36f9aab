// berth stats: a live table of containers' resource use from the tasks service's cgroup v2
// counters (Tasks.Stats): CPU % between two samples, memory against the limit (the host's
// memory when there is none), block I/O and pids. berth's containers have no network
// interfaces besides loopback yet, so NET I/O shows "--". On a host whose cgroup v2 tree has
// no memory/io/pids controllers (docs/tasks.md) those columns read 0.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "ctl/commands.h"
#include "ctl/container/names.h"
#include "ctl/container/template.h"
#include "ctl/container/units.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

namespace tpb = berth::services::tasks::v1;
using nlohmann::json;

struct StatsFlags {
  bool all = false, no_stream = false, no_trunc = false;
  std::string format;
  std::vector<std::string> containers;
};

// MemTotal of this host, the limit Docker shows for a container without one.
uint64_t HostMemory() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view l = line;
    if (absl::ConsumePrefix(&l, "MemTotal:")) {
      l = absl::StripAsciiWhitespace(l);
      absl::ConsumeSuffix(&l, "kB");
      uint64_t kb = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(l), &kb)) return kb * 1024;
    }
  }
  return 0;
}

struct Sample {
  uint64_t cpu_usec = 0;
  absl::Time at;
};

class Stats {
 public:
  Stats(Client& client, const StatsFlags& f) : client_(client), api_(client), f_(f) {}

  // The containers to show now: those named, else the running ones (all with -a).
  absl::StatusOr<std::vector<ContainerView>> Targets() {
    std::vector<ContainerView> out;
    if (!f_.containers.empty()) {
      for (const std::string& ref : f_.containers) {
        absl::StatusOr<ContainerView> v = api_.View(ref);
        if (!v.ok()) return v.status();
        out.push_back(*std::move(v));
      }
      return out;
    }
    absl::StatusOr<std::vector<ContainerView>> list = api_.List();
    if (!list.ok()) return list.status();
    for (ContainerView& v : *list) {
      if (f_.all || v.running()) out.push_back(std::move(v));
    }
    return out;
  }

  // One row per container; CPU % against the previous sample of it.
  std::vector<json> Rows(const std::vector<ContainerView>& targets, size_t given_names) {
    std::vector<json> rows;
    for (size_t i = 0; i < targets.size(); ++i) {
      const ContainerView& v = targets[i];
      const std::string id = v.record.id();
      json row = {{"Container", i < given_names ? f_.containers[i] : ShortContainerId(id)},
                  {"ID", f_.no_trunc ? id : ShortContainerId(id)},
                  {"Name", v.record.name()},
                  {"CPUPerc", "0.00%"},
                  {"MemUsage", "0B / 0B"},
                  {"MemPerc", "0.00%"},
                  {"NetIO", "--"},
                  {"BlockIO", "0B / 0B"},
                  {"PIDs", "0"}};
      tpb::StatsRequest req;
      req.set_container_id(id);
      tpb::StatsResponse s;
      if (v.running() && api_.tasks().Stats(client_.Context().get(), req, &s).ok()) {
        const Sample now{s.cpu().usage_usec(), absl::FromUnixSeconds(s.timestamp().seconds()) +
                                                   absl::Nanoseconds(s.timestamp().nanos())};
        double cpu = 0;
        if (auto it = last_.find(id); it != last_.end()) {
          const double wall = absl::ToDoubleMicroseconds(now.at - it->second.at);
          if (wall > 0 && now.cpu_usec >= it->second.cpu_usec) {
            cpu = static_cast<double>(now.cpu_usec - it->second.cpu_usec) / wall * 100.0;
          }
        }
        last_[id] = now;
        const uint64_t limit = s.memory().limit() > 0 ? s.memory().limit() : HostMemory();
        const double usage = static_cast<double>(s.memory().usage());
        row["CPUPerc"] = absl::StrFormat("%.2f%%", cpu);
        row["MemUsage"] =
            absl::StrCat(BytesSize(usage), " / ", BytesSize(static_cast<double>(limit)));
        row["MemPerc"] =
            absl::StrFormat("%.2f%%", limit > 0 ? usage / static_cast<double>(limit) * 100 : 0.0);
        row["BlockIO"] =
            absl::StrCat(HumanSizeWithPrecision(static_cast<double>(s.io().read_bytes()), 3), " / ",
                         HumanSizeWithPrecision(static_cast<double>(s.io().write_bytes()), 3));
        row["PIDs"] = absl::StrCat(s.pids().current());
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  Client& client_;
  ContainerApi api_;
  const StatsFlags& f_;
  std::map<std::string, Sample> last_;
};

const HeaderNames& StatsHeaders() {
  static const HeaderNames* const kNames = new HeaderNames{
      {"Container", "CONTAINER"},
      {"ID", "CONTAINER ID"},
      {"Name", "NAME"},
      {"CPUPerc", "CPU %"},
      {"MemUsage", "MEM USAGE / LIMIT"},
      {"MemPerc", "MEM %"},
      {"NetIO", "NET I/O"},
      {"BlockIO", "BLOCK I/O"},
      {"PIDs", "PIDS"},
  };
  return *kNames;
}

int RunStats(const GlobalOptions& global, const StatsFlags& f) {
  absl::StatusOr<Template> tmpl = Template::Parse(
      f.format.empty() ? "table" : f.format,
      "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t"
      "{{.BlockIO}}\t{{.PIDs}}");
  if (!tmpl.ok()) return Failed(tmpl.status());
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());
  Stats stats(**client, f);
  const bool tty = isatty(STDOUT_FILENO) == 1;
  // CPU % needs two samples: the first is taken a second before anything is shown.
  absl::StatusOr<std::vector<ContainerView>> targets = stats.Targets();
  if (!targets.ok()) return Failed(targets.status());
  stats.Rows(*targets, f.containers.size());
  for (;;) {
    absl::SleepFor(absl::Seconds(1));
    targets = stats.Targets();
    if (!targets.ok()) return Failed(targets.status());
    absl::StatusOr<std::string> out =
        Render(*tmpl, stats.Rows(*targets, f.containers.size()), StatsHeaders());
    if (!out.ok()) return Failed(out.status());
    if (tty && !f.no_stream) std::fputs("\033[2J\033[H", stdout);
    std::fputs(out->c_str(), stdout);
    std::fflush(stdout);
    if (f.no_stream) return 0;
  }
}

}  // namespace

void AddStatsCommand(CLI::App& app, Run* run) {
  auto f = std::make_shared<StatsFlags>();
  CLI::App* cmd = app.add_subcommand(
      "stats", "Display a live stream of container(s) resource usage statistics");
  cmd->add_flag("-a,--all", f->all, "show all containers (default shows just running)");
  cmd->add_flag("--no-stream", f->no_stream,
                "disable streaming stats and only pull the first result");
  cmd->add_flag("--no-trunc", f->no_trunc, "do not truncate output");
  cmd->add_option("--format", f->format, "format output using a Go template ('table' or TEMPLATE)");
  cmd->add_option("CONTAINER", f->containers, "containers, by name or (prefix of) id");
  cmd->callback([run, f] { *run = [f](const GlobalOptions& g) { return RunStats(g, *f); }; });
}

}  // namespace berth::ctl
