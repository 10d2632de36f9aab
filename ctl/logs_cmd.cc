// berth logs: a container's output as its shim recorded it (Tasks.Logs), stdout to stdout and
// stderr to stderr, with Docker's --follow, --tail, --timestamps, --since and --until.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ctl/commands.h"
#include "ctl/container/timespec.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"

namespace berth::ctl {
namespace {

namespace tpb = berth::services::tasks::v1;

struct LogsFlags {
  bool follow = false, timestamps = false;
  std::string tail = "all", since, until;
  std::string container;
};

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t ns = absl::ToUnixNanos(t);
  ts->set_seconds(ns / 1'000'000'000);
  ts->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

int RunLogs(const GlobalOptions& global, const LogsFlags& f) {
  tpb::LogsRequest req;
  req.set_follow(f.follow);
  if (f.tail != "all") {
    int64_t n = 0;
    if (!absl::SimpleAtoi(f.tail, &n)) {
      return Failed(absl::InvalidArgumentError(
          absl::StrCat("invalid value for \"tail\": \"", f.tail, "\" is not a number or \"all\"")));
    }
    // Docker's --tail 0 shows nothing; the API's 0 means everything.
    if (n == 0 && !f.follow) return 0;
    req.set_tail(n < 0 ? 0 : n);
    if (n == 0) SetTime(absl::Now(), req.mutable_since());  // -f --tail 0: new lines only
  }
  const absl::Time now = absl::Now();
  if (!f.since.empty()) {
    absl::StatusOr<absl::Time> t = ParseTimeSpec("since", f.since, now);
    if (!t.ok()) return Failed(t.status());
    SetTime(*t, req.mutable_since());
  }
  if (!f.until.empty()) {
    absl::StatusOr<absl::Time> t = ParseTimeSpec("until", f.until, now);
    if (!t.ok()) return Failed(t.status());
    SetTime(*t, req.mutable_until());
  }
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());
  ContainerApi api(**client);
  absl::StatusOr<berth::services::containers::v1::Container> c = api.Get(f.container);
  if (!c.ok()) return Failed(c.status());
  req.set_container_id(c->id());

  auto ctx = (*client)->Context();
  auto reader = api.tasks().Logs(ctx.get(), req);
  tpb::LogsResponse resp;
  bool line_start[3] = {true, true, true};
  while (reader->Read(&resp)) {
    for (const tpb::LogRecord& r : resp.records()) {
      const int s = r.stream() == tpb::STREAM_STDERR ? 2 : 1;
      FILE* out = s == 2 ? stderr : stdout;
      if (f.timestamps && line_start[s]) {
        const absl::Time t = absl::FromUnixSeconds(r.timestamp().seconds()) +
                             absl::Nanoseconds(r.timestamp().nanos());
        std::fprintf(out, "%s ", FormatRfc3339NanoFixed(t, absl::UTCTimeZone()).c_str());
      }
      std::fwrite(r.data().data(), 1, r.data().size(), out);
      line_start[s] = !r.partial();
    }
    std::fflush(stdout);
    std::fflush(stderr);
  }
  grpc::Status st = reader->Finish();
  // A container that never ran has no log yet: nothing to show, as Docker.
  if (!st.ok() && st.error_code() != grpc::StatusCode::NOT_FOUND) {
    return Failed(CallError(**client, st));
  }
  return 0;
}

}  // namespace

void AddLogsCommand(CLI::App& app, Run* run) {
  auto f = std::make_shared<LogsFlags>();
  CLI::App* cmd = app.add_subcommand("logs", "Fetch the logs of a container");
  cmd->add_flag("-f,--follow", f->follow, "follow log output");
  cmd->add_option("-n,--tail", f->tail,
                  "number of lines to show from the end of the logs (default \"all\")");
  cmd->add_flag("-t,--timestamps", f->timestamps, "show timestamps");
  cmd->add_option("--since", f->since,
                  "show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. "
                  "\"42m\" for 42 minutes)");
  cmd->add_option("--until", f->until,
                  "show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative "
                  "(e.g. \"42m\" for 42 minutes)");
  cmd->add_option("CONTAINER", f->container, "the container, by name or (prefix of) id")
      ->required();
  cmd->callback([run, f] { *run = [f](const GlobalOptions& g) { return RunLogs(g, *f); }; });
}

}  // namespace berth::ctl
