// berth top: the processes of a running container. The tasks service lists their pids
// (ListPids); what each one is comes from this host's /proc (or from ps(1) when ps options are
// given), so top needs berthd on the same host, as Docker's daemon runs ps on its own host.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ctl/commands.h"
#include "ctl/container/proc_table.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"
#include "ctl/table.h"

namespace berth::ctl {
namespace {

namespace tpb = berth::services::tasks::v1;

struct TopFlags {
  std::string container;
  std::vector<std::string> ps_args;  // what follows the container
};

// ps(1) with `args`, its stdout.
absl::StatusOr<std::string> RunPs(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) return absl::InternalError("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // Main blocked SIGWINCH; ps gets a clean mask
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv = {const_cast<char*>("ps")};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp("ps", argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ps ", absl::StrJoin(args, " "), " failed (exit status ",
                     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), ")"));
  }
  return out;
}

int RunTop(const GlobalOptions& global, const TopFlags& f) {
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());
  ContainerApi api(**client);
  absl::StatusOr<ContainerView> v = api.View(f.container);
  if (!v.ok()) return Failed(v.status());
  if (!v->running()) {
    return Failed(absl::FailedPreconditionError(
        absl::StrCat("Container ", v->record.id(), " is not running")));
  }
  tpb::ListPidsRequest req;
  req.set_container_id(v->record.id());
  tpb::ListPidsResponse resp;
  if (grpc::Status st = api.tasks().ListPids((*client)->Context().get(), req, &resp); !st.ok()) {
    return Failed(CallError(**client, st));
  }
  std::set<int> pids;
  for (const tpb::ProcessInfo& p : resp.processes()) pids.insert(static_cast<int>(p.pid()));

  ProcTable table;
  if (f.ps_args.empty()) {
    absl::StatusOr<ProcClock> clock = ProcClock::Read();
    if (!clock.ok()) return Failed(clock.status());
    table = ReadPsEf(pids, *clock);
  } else {
    absl::StatusOr<std::string> out = RunPs(f.ps_args);
    if (!out.ok()) return Failed(out.status());
    absl::StatusOr<ProcTable> t = FilterPsOutput(*out, pids);
    if (!t.ok()) return Failed(t.status());
    table = *std::move(t);
  }
  if (table.rows.empty() && !pids.empty() && f.ps_args.empty()) {
    return Failed(absl::FailedPreconditionError(
        absl::StrCat("none of the container's processes (", absl::StrJoin(pids, ", "),
                     ") is in this host's /proc: top needs berthd to run on this host")));
  }
  std::string text = absl::StrCat(absl::StrJoin(table.titles, "\t"), "\n");
  for (const auto& row : table.rows) absl::StrAppend(&text, absl::StrJoin(row, "\t"), "\n");
  // Docker's top: tabwriter.NewWriter(out, 20, 1, 3, ' ', 0).
  std::fputs(AlignTabs(text, TableStyle{20, 3}).c_str(), stdout);
  return 0;
}

}  // namespace

void AddTopCommand(CLI::App& app, Run* run) {
  auto f = std::make_shared<TopFlags>();
  CLI::App* cmd = app.add_subcommand(
      "top", "Display the running processes of a container (berthd must run on this host)");
  cmd->add_option("CONTAINER", f->container, "the container, by name or (prefix of) id")
      ->required();
  // Everything after the container is ps's, dashes included (`top web -eo pid,comm`): not
  // parsed as berth's options, and not passed up to the global ones.
  cmd->fallthrough(false);
  cmd->allow_extras();
  cmd->prefix_command();
  cmd->footer(
      "After CONTAINER may come ps(1)'s options (berth top CONTAINER [ps OPTIONS], e.g. aux, "
      "or -o pid,comm): ps then runs on this host and the container's rows are kept. Without "
      "them the columns are ps -ef's, read from /proc.");
  cmd->callback([run, f, cmd] {
    f->ps_args = cmd->remaining();
    *run = [f](const GlobalOptions& g) { return RunTop(g, *f); };
  });
}

}  // namespace berth::ctl
