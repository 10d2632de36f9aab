// berth run and berth create: a container from an image, with Docker's flags. run also starts
// it, attached (streams, exit code) or detached (-d, prints the id).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "berth/services/events/v1/events.grpc.pb.h"
#include "ctl/attach_io.h"
#include "ctl/commands.h"
#include "ctl/container/detach_keys.h"
#include "ctl/container/restart_policy.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"
#include "ctl/exit_codes.h"
#include "ctl/volume_api.h"

namespace berth::ctl {
namespace {

namespace epb = ::berth::services::events::v1;

struct RunFlags {
  ContainerOptions c;
  std::string name;
  std::string network = "default";
  std::vector<std::string> ports;
  bool publish_all = false;
  bool detach = false;
  bool interactive = false;
  std::string entrypoint;
  std::string user;
  std::string restart = "no";
  std::vector<std::string> labels;
  int stop_timeout = -1;
  int64_t pids_limit = 0;
  std::string runtime, snapshotter;
  std::string detach_keys = kDefaultDetachKeys;
  std::string image;
  VolumeFlags volumes;
};

// The flags `run` and `create` share (Docker's `docker create` set).
void AddCreateFlags(CLI::App* cmd, RunFlags* f) {
  // Docker's -h is --hostname; help stays on --help.
  cmd->set_help_flag("--help", "show this help");
  cmd->add_option("IMAGE", f->image, "the image to run")->required();
  cmd->add_option("COMMAND", f->c.args, "the command and its arguments (default: the image's)");
  cmd->add_flag("-i,--interactive", f->interactive, "keep STDIN open even if not attached");
  cmd->add_flag("-t,--tty", f->c.tty, "allocate a pseudo-TTY");
  cmd->add_option("--name", f->name, "assign a name to the container");
  cmd->add_flag("--rm", f->c.auto_remove, "remove the container when it exits");
  cmd->add_option("-e,--env", f->c.env, "set environment variables (K=V, or K to copy ours)")
      ->allow_extra_args(false);
  cmd->add_option("--env-file", f->c.env_files, "read environment variables from a file")
      ->allow_extra_args(false);
  cmd->add_option("-w,--workdir", f->c.workdir, "working directory inside the container");
  cmd->add_option("-u,--user", f->user, "username or UID (format: <name|uid>[:<group|gid>])");
  cmd->add_option("--entrypoint", f->entrypoint, "overwrite the image's ENTRYPOINT");
  cmd->add_option("-h,--hostname", f->c.hostname, "container host name");
  cmd->add_option("-l,--label", f->labels, "set metadata on the container (K=V)")
      ->allow_extra_args(false);
  cmd->add_flag("--read-only", f->c.read_only, "mount the container's root filesystem read-only");
  cmd->add_option("--cap-add", f->c.cap_add, "add Linux capabilities")->allow_extra_args(false);
  cmd->add_option("--cap-drop", f->c.cap_drop, "drop Linux capabilities")->allow_extra_args(false);
  cmd->add_flag("--privileged", f->c.privileged, "give extended privileges to this container");
  cmd->add_option("--security-opt", f->c.security_opt,
                  "security options: seccomp=unconfined|FILE, no-new-privileges[=false], "
                  "systempaths=unconfined, apparmor=PROFILE, label=disable")
      ->allow_extra_args(false);
  cmd->add_option("--stop-signal", f->c.stop_signal, "signal to stop the container");
  cmd->add_option("--stop-timeout", f->stop_timeout, "seconds to wait before killing on stop");
  cmd->add_option("--tmpfs", f->c.tmpfs, "mount a tmpfs directory (/path[:options])")
      ->allow_extra_args(false);
  cmd->add_option("-m,--memory", f->c.memory, "memory limit (e.g. 512m)");
  cmd->add_option("--cpus", f->c.cpus, "number of CPUs (e.g. 1.5)");
  cmd->add_option("--pids-limit", f->pids_limit, "tune the container's pids limit (-1: none)");
  cmd->add_option("--restart", f->restart,
                  "restart policy: no, always, on-failure[:max-retries], unless-stopped");
  cmd->add_option("--runtime", f->runtime,
                  "OCI runtime for this container (default berth-runtime)");
  cmd->add_option("--network,--net", f->network,
                  "connect the container to a network: bridge (default), none, host, or a "
                  "network's name");
  cmd->add_option("-p,--publish", f->ports,
                  "publish a container's port to the host "
                  "([IP:][HOST_PORT:]CONTAINER_PORT[/PROTO])")
      ->allow_extra_args(false);
  cmd->add_flag("-P,--publish-all", f->publish_all, "publish every exposed port to a random port");
  AddVolumeFlags(cmd, &f->volumes);
  cmd->add_option("--snapshotter", f->snapshotter,
                  "snapshotter for the rootfs (default: the "
                  "daemon's)");
}

// Turns the parsed flags into ContainerOptions; INVALID_ARGUMENT for bad values.
absl::StatusOr<std::string> Prepare(const CLI::App& cmd, RunFlags* f) {
  if (cmd.count("--entrypoint") > 0) f->c.entrypoint = f->entrypoint;
  if (cmd.count("--user") > 0) f->c.user = f->user;
  if (cmd.count("--stop-timeout") > 0) f->c.stop_timeout = f->stop_timeout;
  if (cmd.count("--pids-limit") > 0) f->c.pids_limit = f->pids_limit;
  absl::StatusOr<RestartPolicy> policy = ParseRestartPolicy(f->restart);
  if (!policy.ok()) return policy.status();
  f->c.restart = *policy;
  for (const std::string& l : f->labels) {
    const size_t eq = l.find('=');
    f->c.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  return f->image;
}

// A failure of berth itself, before the container's command ran: 125, as Docker.
int Fail(const absl::Status& st) {
  ReportError(st);
  return kExitBerth;
}

// Docker's exit codes for a container whose command could not be run: 127 when it does not
// exist, 126 when it cannot be executed; any other failure is berth's (125).
int StartFailure(const absl::Status& st) {
  std::fprintf(stderr, "berth: %s\n", std::string(st.message()).c_str());
  return CommandExitCode(st.message());
}

// --rm: the daemon removes the container once it has exited; wait for that, so that the
// container is gone when run returns, as with Docker.
// The removal of an --rm container, which berthd does after the exit that the attach stream
// reports: watched through the events service from before the container starts, so the CLI
// returns the moment the record is gone.
class RemovalWatch {
 public:
  RemovalWatch(Client& client, const std::string& id) : ctx_(client.Context()) {
    epb::SubscribeRequest req;
    req.add_filters(
        absl::StrCat("namespace==", client.ns(), ",topic==/containers/delete,event.id==", id));
    reader_ = epb::Events::NewStub(client.channel())->Subscribe(ctx_.get(), req);
    // The server sends headers once the subscription stands; without an events service the
    // call fails here and Wait polls instead.
    reader_->WaitForInitialMetadata();
  }
  ~RemovalWatch() {
    ctx_->TryCancel();
    reader_->Finish();
  }

  // Returns once the container is gone or `timeout` passed.
  void Wait(ContainerApi& api, const std::string& id, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    if (!api.Get(id).ok()) return;
    absl::Notification done;
    std::thread watchdog([&] {
      if (!done.WaitForNotificationWithDeadline(deadline)) ctx_->TryCancel();
    });
    epb::Envelope e;
    const bool removed = reader_->Read(&e);
    done.Notify();
    watchdog.join();
    // No event (no events service, or it went away): the record itself tells.
    while (!removed && absl::Now() < deadline && api.Get(id).ok()) {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

 private:
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientReader<epb::Envelope>> reader_;
};

int RunRun(const GlobalOptions& global, const CLI::App& cmd, RunFlags f, bool start) {
  absl::StatusOr<std::string> image = Prepare(cmd, &f);
  if (!image.ok()) return Fail(image.status());
  std::string detach_keys;
  if (start && !f.detach) {
    absl::StatusOr<std::string> keys = ParseDetachKeys(f.detach_keys);
    if (!keys.ok()) return Fail(keys.status());
    detach_keys = *keys;
  }
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Fail(client.status());
  ContainerApi api(**client);
  absl::StatusOr<berth::services::containers::v1::Container> c =
      api.Create({.image = *image,
                  .name = f.name,
                  .open_stdin = f.interactive,
                  .snapshotter = f.snapshotter,
                  .runtime = f.runtime,
                  .network = f.network,
                  .ports = f.ports,
                  .publish_all = f.publish_all,
                  .volumes = f.volumes},
                 f.c);
  if (!c.ok()) return Fail(c.status());
  if (!start) {
    std::printf("%s\n", c->id().c_str());
    return 0;
  }
  auto give_up = [&](const absl::Status& st) {
    // Docker leaves a container that failed to start as "Created"; --rm removes it.
    api.DeleteTask(c->id()).IgnoreError();
    if (f.c.auto_remove) {
      if (absl::StatusOr<ContainerView> v = api.View(c->id()); v.ok()) {
        api.Remove(*v, /*force=*/true).IgnoreError();
        RemoveAnonymousVolumes(api, v->record).IgnoreError();
      }
    }
    return StartFailure(st);
  };
  if (absl::Status st = api.CreateTask(*c, f.interactive); !st.ok()) return give_up(st);
  if (f.detach) {
    if (absl::StatusOr<uint32_t> pid = api.Start(c->id()); !pid.ok()) return give_up(pid.status());
    std::printf("%s\n", c->id().c_str());
    return 0;
  }
  std::unique_ptr<RemovalWatch> removal;
  if (f.c.auto_remove) removal = std::make_unique<RemovalWatch>(**client, c->id());
  absl::Status start_error;
  AttachOptions io{
      .container_id = c->id(), .stdin = f.interactive, .tty = f.c.tty, .detach_keys = detach_keys};
  absl::StatusOr<AttachResult> r = AttachStream(**client, io, [&] {
    start_error = api.Start(c->id()).status();
    return start_error;
  });
  if (!start_error.ok()) return give_up(start_error);
  if (!r.ok()) return Fail(r.status());
  if (r->detached) {
    std::fprintf(stderr, "\nread escape sequence\n");
    return 0;
  }
  int code = r->exit_status;
  if (code < 0) {  // the stream ended early: ask for the status
    absl::StatusOr<int> w = api.Wait(c->id());
    if (!w.ok()) return Fail(w.status());
    code = *w;
  }
  if (removal != nullptr) removal->Wait(api, c->id(), absl::Seconds(10));
  return code;
}

}  // namespace

void AddRunCommand(CLI::App& app, Run* run) {
  CLI::App* cmd = app.add_subcommand("run", "Create and run a new container from an image");
  auto f = std::make_shared<RunFlags>();
  AddCreateFlags(cmd, f.get());
  cmd->add_flag("-d,--detach", f->detach, "run in the background and print the container ID");
  cmd->add_option("--detach-keys", f->detach_keys,
                  "key sequence for detaching (default ctrl-p,ctrl-q)");
  cmd->callback([run, f, cmd] {
    *run = [f, cmd](const GlobalOptions& g) { return RunRun(g, *cmd, *f, /*start=*/true); };
  });
}

void AddCreateCommand(CLI::App& app, Run* run) {
  CLI::App* cmd = app.add_subcommand("create", "Create a new container");
  auto f = std::make_shared<RunFlags>();
  AddCreateFlags(cmd, f.get());
  cmd->callback([run, f, cmd] {
    *run = [f, cmd](const GlobalOptions& g) { return RunRun(g, *cmd, *f, /*start=*/false); };
  });
}

}  // namespace berth::ctl
