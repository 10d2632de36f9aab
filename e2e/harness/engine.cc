#include "e2e/harness/engine.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/str_split.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "berth/services/tasks/v1/tasks.grpc.pb.h"
#include "runtime/cgroup.h"

namespace berth::e2e {
namespace {

namespace cpb = berth::services::containers::v1;
namespace spb = berth::services::snapshots::v1;
namespace tpb = berth::services::tasks::v1;

std::vector<std::string> DaemonFlags(std::vector<std::string> flags,
                                     const std::vector<std::string>& more) {
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

}  // namespace

namespace internal {

EngineFiles::EngineFiles(const std::string& prefix, const std::string& config) : files_(prefix) {
  const std::string file = files_.path() + "/config.yaml";
  std::ofstream(file) << "shim: " << Runfile("shim/berth-shim") << "\n"
                      << "runtimes:\n  berth-runtime: " << Runfile("runtime/berth-runtime") << "\n"
                      << config;
  config_flags_ = {"--config", file};
}

}  // namespace internal

Engine::Engine(EngineOptions options)
    : EngineFiles(options.prefix, options.config),
      TestDaemon(DaemonFlags(config_flags_, options.flags)),
      ns_(std::move(options.ns)) {}

Engine::~Engine() {
  if (ns_.empty()) return;
  if (started()) RemoveAll();
  Stop();
  // The runtime leaves the namespace's parent cgroup (namespaces may be shared); this one is
  // the test's own, and empty once its containers are gone.
  if (absl::StatusOr<std::string> cg = runtime::FindCgroup2Mount(); cg.ok()) {
    rmdir((*cg + "/berth/" + ns_).c_str());
  }
}

std::vector<std::string> Engine::BerthArgv(std::vector<std::string> args) const {
  std::vector<std::string> head = {Runfile("ctl/berth"), "-H", host()};
  if (!ns_.empty()) head.insert(head.end(), {"-n", ns_});
  args.insert(args.begin(), head.begin(), head.end());
  return args;
}

CommandResult Engine::Berth(std::vector<std::string> args) const {
  return RunCommand(BerthArgv(std::move(args)));
}

std::string Engine::Archive(const std::string& name) const {
  std::string file = name;
  for (char& c : file) {
    if (c == '/' || c == ':') c = '_';
  }
  return dir() + "/" + file + ".tar";
}

CommandResult Engine::MakeImage(const std::string& name,
                                const std::vector<std::string>& flags) const {
  std::vector<std::string> argv = {"/usr/bin/python3", Runfile("e2e/fixtures/make_oci_image.py"),
                                   Archive(name), name};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return RunCommand(argv);
}

CommandResult Engine::Load(const std::string& archive) const {
  return Berth({"load", "-q", "-i", archive});
}

CommandResult Engine::LoadImage(const std::string& name,
                                const std::vector<std::string>& flags) const {
  CommandResult made = MakeImage(name, flags);
  if (made.exit_code != 0) return made;
  return Load(Archive(name));
}

void Engine::ForceRemove(const std::string& id) const {
  const std::string ns = ns_.empty() ? "default" : ns_;
  auto channel = Channel();
  auto containers = cpb::Containers::NewStub(channel);
  auto tasks = tpb::Tasks::NewStub(channel);
  cpb::UpdateContainerRequest up;
  up.mutable_container()->set_id(id);
  (*up.mutable_container()->mutable_labels())["berth.io/manually-stopped"] = "true";
  up.mutable_update_mask()->add_paths("labels.berth.io/manually-stopped");
  cpb::UpdateContainerResponse ur;
  containers->Update(Context(ns).get(), up, &ur);
  google::protobuf::Empty e;
  for (int i = 0; i < 100; ++i) {
    tpb::KillRequest kill;
    kill.set_container_id(id);
    kill.set_signal(SIGKILL);
    kill.set_all(true);
    tasks->Kill(Context(ns).get(), kill, &e);
    tpb::DeleteTaskRequest del;
    del.set_container_id(id);
    tpb::DeleteResponse d;
    grpc::Status st = tasks->Delete(Context(ns).get(), del, &d);
    if (st.error_code() == grpc::StatusCode::NOT_FOUND) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  cpb::DeleteContainerRequest cdel;
  cdel.set_id(id);
  containers->Delete(Context(ns).get(), cdel, &e);
  spb::RemoveSnapshotRequest rm;
  rm.set_key(id);
  spb::Snapshots::NewStub(channel)->Remove(Context(ns).get(), rm, &e);
}

std::map<std::string, std::string> Engine::Labels(const std::string& id) const {
  cpb::GetContainerRequest req;
  req.set_id(id);
  cpb::GetContainerResponse resp;
  cpb::Containers::NewStub(Channel())->Get(Context(ns_.empty() ? "default" : ns_).get(), req,
                                           &resp);
  return {resp.container().labels().begin(), resp.container().labels().end()};
}

void Engine::RemoveAll() const {
  CommandResult ids = Berth({"ps", "-aq", "--no-trunc"});
  for (absl::string_view id : absl::StrSplit(ids.out, '\n', absl::SkipEmpty())) {
    Berth({"rm", "-f", std::string(id)});
  }
}

}  // namespace berth::e2e
