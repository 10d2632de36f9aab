// berth events: berthd's events of this namespace as `docker events` prints them, live
// (Events.Subscribe), with --filter, --format and --until. berthd keeps no history: --since
// can only hold back events until a time still to come.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "berth/events/v1/events.pb.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/events/v1/events.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container/events.h"
#include "ctl/container/template.h"
#include "ctl/container/timespec.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

namespace cpb = berth::services::containers::v1;
namespace epb = berth::services::events::v1;

struct EventsFlags {
  std::vector<std::string> filters;
  std::string format, since, until;
};

EventContainer Describe(const std::string& name, const std::string& image,
                        const google::protobuf::Map<std::string, std::string>& labels) {
  return EventContainer{name, image, {labels.begin(), labels.end()}};
}

int RunEvents(const GlobalOptions& global, const EventsFlags& f) {
  absl::StatusOr<EventFilter> filter = EventFilter::Parse(f.filters);
  if (!filter.ok()) return Failed(filter.status());
  absl::optional<Template> tmpl;
  if (!f.format.empty()) {
    absl::StatusOr<Template> t = Template::Parse(f.format);
    if (!t.ok()) return Failed(t.status());
    tmpl = *t;
  }
  const absl::Time now = absl::Now();
  absl::optional<absl::Time> since, until;
  if (!f.since.empty()) {
    absl::StatusOr<absl::Time> t = ParseTimeSpec("since", f.since, now);
    if (!t.ok()) return Failed(t.status());
    since = *t;
    if (*since < now - absl::Seconds(1)) {
      std::fprintf(stderr, "berth: berthd keeps no event history; showing events from now on\n");
    }
  }
  if (!f.until.empty()) {
    absl::StatusOr<absl::Time> t = ParseTimeSpec("until", f.until, now);
    if (!t.ok()) return Failed(t.status());
    until = *t;
    if (*until <= now) return 0;
  }
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());

  epb::SubscribeRequest req;
  req.add_filters(absl::StrCat("namespace==", (*client)->ns()));
  auto ctx = (*client)->Context();
  if (until.has_value()) ctx->set_deadline(absl::ToChronoTime(*until));
  auto reader = epb::Events::NewStub((*client)->channel())->Subscribe(ctx.get(), req);

  // Names, images and labels of the namespace's containers, for the events' attributes: a
  // container may be gone by the time its last events arrive.
  std::map<std::string, EventContainer> known;
  auto containers = cpb::Containers::NewStub((*client)->channel());
  cpb::ListContainersResponse list;
  if (containers->List((*client)->Context().get(), {}, &list).ok()) {
    for (const cpb::Container& c : list.containers()) {
      known[c.id()] = Describe(c.name(), c.image(), c.labels());
    }
  }
  const auto lookup = [&](const std::string& id) -> absl::optional<EventContainer> {
    auto it = known.find(id);
    if (it != known.end()) return it->second;
    cpb::GetContainerRequest get;
    get.set_id(id);
    cpb::GetContainerResponse resp;
    if (!containers->Get((*client)->Context().get(), get, &resp).ok()) return absl::nullopt;
    const cpb::Container& c = resp.container();
    return known[id] = Describe(c.name(), c.image(), c.labels());
  };

  const auto show = [&](const DockerEvent& e) -> absl::Status {
    if (since.has_value() && e.time < *since) return absl::OkStatus();
    if (!filter->Match(e)) return absl::OkStatus();
    if (tmpl.has_value()) {
      absl::StatusOr<std::string> line = tmpl->Execute(EventObject(e));
      if (!line.ok()) return line.status();
      std::printf("%s\n", line->c_str());
    } else {
      std::printf("%s\n", EventLine(e).c_str());
    }
    std::fflush(stdout);
    return absl::OkStatus();
  };

  epb::Envelope env;
  while (reader->Read(&env)) {
    if (env.topic() == "/containers/update") {
      berth::events::v1::ContainerUpdate u;
      if (!env.event().UnpackTo(&u)) continue;
      auto it = known.find(u.id());
      const bool renamed = it != known.end() && !u.name().empty() && it->second.name != u.name();
      const std::string old_name = it != known.end() ? it->second.name : "";
      known[u.id()] = Describe(u.name(), u.image(), u.labels());
      if (!renamed) continue;
      DockerEvent rename{.type = "container", .action = "rename", .id = u.id()};
      for (const auto& [k, v] : u.labels()) {
        if (k.rfind("berth.io/", 0) != 0) rename.attributes[k] = v;
      }
      rename.attributes["image"] = DisplayImage(u.image());
      rename.attributes["name"] = u.name();
      rename.attributes["oldName"] = "/" + old_name;
      rename.time = absl::FromUnixSeconds(env.timestamp().seconds()) +
                    absl::Nanoseconds(env.timestamp().nanos());
      if (absl::Status st = show(rename); !st.ok()) return Failed(st);
      continue;
    }
    absl::optional<DockerEvent> e = ToDockerEvent(env, lookup);
    if (!e.has_value()) continue;
    if (absl::Status st = show(*e); !st.ok()) return Failed(st);
    if (env.topic() == "/containers/delete") known.erase(e->id);
  }
  grpc::Status st = reader->Finish();
  if (st.ok() || st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return 0;
  return Failed(CallError(**client, st));
}

}  // namespace

void AddEventsCommand(CLI::App& app, Run* run) {
  auto f = std::make_shared<EventsFlags>();
  CLI::App* cmd = app.add_subcommand("events", "Get real time events from the server");
  cmd->add_option("-f,--filter", f->filters,
                  "filter output based on conditions provided (container, event, image, "
                  "label, type)")
      ->allow_extra_args(false);
  cmd->add_option("--format", f->format, "format the output using the given Go template");
  cmd->add_option("--since", f->since,
                  "show events from this time on (berthd keeps no history: a time to come)");
  cmd->add_option("--until", f->until, "stream events until this timestamp");
  cmd->callback([run, f] { *run = [f](const GlobalOptions& g) { return RunEvents(g, *f); }; });
}

}  // namespace berth::ctl
