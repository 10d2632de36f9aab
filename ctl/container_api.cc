#include "ctl/container_api.h"

#include <signal.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "common/port_spec.h"
#include "common/signal.h"
#include "common/status_macros.h"
#include "ctl/container/image_id.h"
#include "ctl/container/labels.h"
#include "ctl/container/names.h"
#include "ctl/image_info.h"

namespace berth::ctl {
namespace {

namespace cpb = berth::services::containers::v1;
namespace ipb = berth::services::images::v1;
namespace spb = berth::services::snapshots::v1;
namespace tpb = berth::services::tasks::v1;

constexpr int kDefaultStopTimeout = 10;
constexpr int kNameRetries = 8;

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

std::string Label(const cpb::Container& c, const std::string& key) {
  auto it = c.labels().find(key);
  return it == c.labels().end() ? "" : it->second;
}

// --network, -p and -P: labels for the daemon, which wires the network and has the shim
// listen; the host's network means no network namespace of the container's own.
absl::Status ApplyNetworking(const ContainerApi::NewContainer& what,
                             const nlohmann::json& image_config, nlohmann::json* spec,
                             std::map<std::string, std::string>* labels) {
  const std::string& mode = what.network.empty() ? "default" : what.network;
  std::vector<std::string> ports;
  for (const std::string& p : what.ports) {
    ASSIGN_OR_RETURN(PortSpec spec_, ParsePortSpec(p));
    ports.push_back(spec_.ToString());
  }
  if (what.publish_all) {
    const nlohmann::json& cfg =
        image_config.contains("config") ? image_config["config"] : image_config;
    if (cfg.is_object() && cfg.contains("ExposedPorts") && cfg["ExposedPorts"].is_object()) {
      for (auto it = cfg["ExposedPorts"].begin(); it != cfg["ExposedPorts"].end(); ++it) {
        absl::StatusOr<PortSpec> exposed = ParsePortSpec(it.key());
        if (exposed.ok()) ports.push_back(exposed->ToString());
      }
    }
  }
  if (!ports.empty() && (mode == "none" || mode == "host")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conflicting options: port publishing and the container type network mode \"", mode, "\""));
  }
  if (mode == "host" && spec->contains("linux") && (*spec)["linux"].contains("namespaces")) {
    nlohmann::json kept = nlohmann::json::array();
    for (const nlohmann::json& n : (*spec)["linux"]["namespaces"]) {
      if (n.value("type", "") != "network") kept.push_back(n);
    }
    (*spec)["linux"]["namespaces"] = kept;
  }
  (*labels)[kLabelNetwork] = mode;
  if (!ports.empty()) (*labels)[kLabelPorts] = absl::StrJoin(ports, ",");
  return absl::OkStatus();
}

}  // namespace

ContainerApi::ContainerApi(Client& client)
    : client_(client),
      containers_(cpb::Containers::NewStub(client.channel())),
      tasks_(tpb::Tasks::NewStub(client.channel())) {}

absl::Status ContainerApi::Call(const grpc::Status& st) {
  return st.ok() ? absl::OkStatus() : CallError(client_, st);
}

absl::StatusOr<cpb::Container> ContainerApi::Get(const std::string& ref) {
  cpb::GetContainerRequest req;
  req.set_id(ref);
  cpb::GetContainerResponse resp;
  grpc::Status st = containers_->Get(client_.Context().get(), req, &resp);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::NotFoundError(absl::StrCat("No such container: ", ref));
  }
  RETURN_IF_ERROR(Call(st));
  return resp.container();
}

absl::StatusOr<ContainerView> ContainerApi::View(const std::string& ref) {
  ASSIGN_OR_RETURN(cpb::Container c, Get(ref));
  return View(std::move(c));
}

absl::StatusOr<ContainerView> ContainerApi::View(cpb::Container record) {
  ContainerView v;
  v.record = std::move(record);
  const std::map<std::string, std::string> labels(v.record.labels().begin(),
                                                  v.record.labels().end());
  v.state = StateFromLabels(labels);
  tpb::GetRequest req;
  req.set_container_id(v.record.id());
  tpb::GetResponse resp;
  grpc::Status st = tasks_->Get(client_.Context().get(), req, &resp);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND) return v;  // no task: from the labels
  RETURN_IF_ERROR(Call(st));
  v.task = resp.process();
  switch (v.task->status()) {
    case tpb::RUNNING:
      v.state.status = ContainerStatus::kRunning;
      v.state.finished_at.reset();
      break;
    case tpb::PAUSED:
    case tpb::PAUSING:
      v.state.status = ContainerStatus::kPaused;
      v.state.finished_at.reset();
      break;
    case tpb::STOPPED:
      v.state.status = ContainerStatus::kExited;
      v.state.exit_code = static_cast<int>(v.task->exit_status());
      v.state.finished_at = FromTimestamp(v.task->exited_at());
      break;
    default:  // CREATED, or a task whose shim is gone
      v.state.status = ContainerStatus::kCreated;
      break;
  }
  return v;
}

absl::StatusOr<std::vector<ContainerView>> ContainerApi::List() {
  cpb::ListContainersResponse resp;
  RETURN_IF_ERROR(Call(containers_->List(client_.Context().get(), {}, &resp)));
  std::vector<ContainerView> out;
  for (const cpb::Container& c : resp.containers()) {
    absl::StatusOr<ContainerView> v = View(c);
    if (v.ok()) out.push_back(*std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const ContainerView& a, const ContainerView& b) {
    return FromTimestamp(a.record.created_at()) > FromTimestamp(b.record.created_at());
  });
  return out;
}

absl::StatusOr<cpb::Container> ContainerApi::Create(const NewContainer& what,
                                                    ContainerOptions options) {
  const std::string& image = what.image;
  const std::string& snapshotter = what.snapshotter;
  auto images = ipb::Images::NewStub(client_.channel());
  ipb::GetImageRequest ireq;
  ireq.set_name(image);
  ipb::GetImageResponse iresp;
  grpc::Status st = images->Get(client_.Context().get(), ireq, &iresp);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::NotFoundError(absl::StrCat("Unable to find image '", image,
                                            "' locally (load it with `berth load` or pull it)"));
  }
  RETURN_IF_ERROR(Call(st));
  ASSIGN_OR_RETURN(ImageDetails details, DescribeImage(client_, iresp.image()));

  if (options.id.empty()) {
    ASSIGN_OR_RETURN(options.id, NewContainerId());
  }
  options.ns = client_.ns();
  ASSIGN_OR_RETURN(nlohmann::json spec, BuildSpec(details.config, options, HostFacts::Current()));
  ASSIGN_OR_RETURN(auto labels, ContainerLabels(details.config, options));
  RETURN_IF_ERROR(ApplyNetworking(what, details.config, &spec, &labels));
  // The daemon looks after every container the CLI makes (records exits, frees the shim,
  // applies the policy): the label's presence is what asks it to.
  labels.try_emplace(kLabelRestartPolicy, "no");
  if (what.open_stdin) labels[kLabelOpenStdin] = "true";
  // The image by ID, which its name (the record's `image`) may stop naming while the
  // container lives: `rmi` and `inspect` go by it.
  RecordImageId(details.id, &labels);
  ASSIGN_OR_RETURN(std::unique_ptr<VolumeGuard> volumes,
                   AddVolumes(client_, details.config, what.volumes, options.id, &spec, &labels));

  // The layers go into the snapshotter first (a no-op when already there).
  ipb::UnpackImageRequest ureq;
  ureq.set_name(iresp.image().name());
  ureq.set_snapshotter(snapshotter);
  ipb::UnpackImageResponse uresp;
  RETURN_IF_ERROR(Call(images->Unpack(client_.Context().get(), ureq, &uresp)));

  cpb::Container c;
  c.set_id(options.id);
  c.set_image(iresp.image().name());
  c.set_spec(spec.dump());
  c.set_snapshotter(snapshotter);
  c.set_snapshot_key(options.id);
  c.mutable_runtime()->set_name(what.runtime.empty() ? "berth-runtime" : what.runtime);
  c.set_auto_remove(options.auto_remove);
  c.mutable_labels()->insert(labels.begin(), labels.end());

  auto snaps = spb::Snapshots::NewStub(client_.channel());
  spb::PrepareSnapshotRequest prep;
  prep.set_snapshotter(snapshotter);
  prep.set_key(options.id);
  prep.set_parent(uresp.chain_id());
  spb::PrepareSnapshotResponse mounts;
  RETURN_IF_ERROR(Call(snaps->Prepare(client_.Context().get(), prep, &mounts)));

  const bool named = !what.name.empty();
  for (int attempt = 0;; ++attempt) {
    if (named) {
      c.set_name(what.name);
    } else {
      ASSIGN_OR_RETURN(std::string name, RandomName(attempt));
      c.set_name(name);
    }
    cpb::CreateContainerRequest creq;
    *creq.mutable_container() = c;
    cpb::CreateContainerResponse cresp;
    st = containers_->Create(client_.Context().get(), creq, &cresp);
    if (st.ok()) return cresp.container();
    if (st.error_code() != grpc::StatusCode::ALREADY_EXISTS || named ||
        attempt + 1 >= kNameRetries) {
      spb::RemoveSnapshotRequest rm;
      rm.set_snapshotter(snapshotter);
      rm.set_key(options.id);
      google::protobuf::Empty e;
      snaps->Remove(client_.Context().get(), rm, &e);
      if (st.error_code() == grpc::StatusCode::ALREADY_EXISTS && named) {
        return absl::AlreadyExistsError(
            absl::StrCat("Conflict. The container name \"/", what.name,
                         "\" is already in use. You have to remove (or rename) that container "
                         "to be able to reuse that name."));
      }
      return CallError(client_, st);
    }
  }
}

absl::Status ContainerApi::CreateTask(const cpb::Container& c, bool stdin_open) {
  auto snaps = spb::Snapshots::NewStub(client_.channel());
  spb::MountsRequest mreq;
  mreq.set_snapshotter(c.snapshotter());
  mreq.set_key(c.snapshot_key());
  spb::MountsResponse mounts;
  RETURN_IF_ERROR(Call(snaps->Mounts(client_.Context().get(), mreq, &mounts)));
  const nlohmann::json spec = nlohmann::json::parse(c.spec(), nullptr, false);
  tpb::CreateTaskRequest req;
  req.set_container_id(c.id());
  *req.mutable_rootfs() = mounts.mounts();
  req.mutable_stdio()->set_terminal(spec.is_object() && spec.contains("process") &&
                                    spec["process"].value("terminal", false));
  req.mutable_stdio()->set_stdin_open(stdin_open);
  tpb::CreateTaskResponse resp;
  return Call(tasks_->Create(client_.Context().get(), req, &resp));
}

absl::StatusOr<uint32_t> ContainerApi::Start(const std::string& id, const std::string& exec_id) {
  tpb::StartRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  tpb::StartResponse resp;
  RETURN_IF_ERROR(Call(tasks_->Start(client_.Context().get(), req, &resp)));
  return resp.pid();
}

absl::Status ContainerApi::Kill(const std::string& id, int signal, bool all,
                                const std::string& exec_id) {
  tpb::KillRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  req.set_signal(static_cast<uint32_t>(signal));
  req.set_all(all);
  google::protobuf::Empty e;
  return Call(tasks_->Kill(client_.Context().get(), req, &e));
}

absl::Status ContainerApi::DeleteTask(const std::string& id) {
  tpb::DeleteTaskRequest req;
  req.set_container_id(id);
  tpb::DeleteResponse resp;
  return Call(tasks_->Delete(client_.Context().get(), req, &resp));
}

absl::StatusOr<int> ContainerApi::Wait(const std::string& id, const std::string& exec_id,
                                       absl::Duration deadline) {
  tpb::WaitRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  tpb::WaitResponse resp;
  std::unique_ptr<grpc::ClientContext> ctx = client_.Context();
  if (deadline != absl::InfiniteDuration())
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  grpc::Status st = tasks_->Wait(ctx.get(), req, &resp);
  if (st.ok()) return static_cast<int>(resp.exit_status());
  if (st.error_code() == grpc::StatusCode::NOT_FOUND && exec_id.empty()) {
    // The daemon has deleted, or is deleting, the task of a container it manages: the exit
    // is on the record, or about to be (a Delete answers NOT_FOUND from when it shuts the shim
    // down, and records the exit just after). A container that never ran has nothing to wait
    // for.
    for (int attempt = 0; attempt < 40; ++attempt) {
      ASSIGN_OR_RETURN(cpb::Container c, Get(id));
      int code = 0;
      if (absl::SimpleAtoi(Label(c, kLabelExitStatus), &code)) return code;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return absl::FailedPreconditionError(absl::StrCat("container ", id, " is not running"));
  }
  return CallError(client_, st);
}

absl::Status ContainerApi::SetLabels(const std::string& id,
                                     const std::map<std::string, std::string>& labels) {
  cpb::UpdateContainerRequest req;
  req.mutable_container()->set_id(id);
  for (const auto& [k, v] : labels) {
    if (v.empty()) {  // an empty value removes the label
      req.mutable_update_mask()->add_paths("labels." + k);
      continue;
    }
    (*req.mutable_container()->mutable_labels())[k] = v;
    req.mutable_update_mask()->add_paths("labels." + k);
  }
  cpb::UpdateContainerResponse resp;
  return Call(containers_->Update(client_.Context().get(), req, &resp));
}

absl::Status ContainerApi::Stop(const ContainerView& c, absl::optional<int> timeout) {
  const std::string& id = c.record.id();
  RETURN_IF_ERROR(SetLabels(id, {{kLabelManuallyStopped, "true"}}));
  if (!c.running()) return absl::OkStatus();
  int seconds = kDefaultStopTimeout;
  if (timeout.has_value()) {
    seconds = *timeout;
  } else if (int t; absl::SimpleAtoi(Label(c.record, kLabelStopTimeout), &t)) {
    seconds = t;
  }
  int sig = SIGTERM;
  if (absl::StatusOr<int> s = ParseSignal(Label(c.record, kLabelStopSignal)); s.ok()) sig = *s;
  if (c.state.status == ContainerStatus::kPaused) {
    // A frozen process cannot act on a signal; thaw it so it can.
    tpb::ResumeTaskRequest r;
    r.set_container_id(id);
    google::protobuf::Empty e;
    tasks_->Resume(client_.Context().get(), r, &e);
  }
  if (seconds != 0) {
    absl::Status st = Kill(id, sig);
    if (st.ok() || absl::IsFailedPrecondition(st)) {
      absl::StatusOr<int> done = Wait(id, "", absl::Seconds(seconds < 0 ? 1 << 30 : seconds));
      if (done.ok() || !absl::IsDeadlineExceeded(done.status())) return absl::OkStatus();
    }
  }
  absl::Status st = Kill(id, SIGKILL, /*all=*/true);
  if (absl::IsNotFound(st)) return absl::OkStatus();  // it ended meanwhile
  if (!st.ok() && !absl::IsFailedPrecondition(st)) return st;
  absl::StatusOr<int> done = Wait(id, "", absl::Seconds(30));
  if (done.ok() || absl::IsNotFound(done.status()) || absl::IsFailedPrecondition(done.status())) {
    return absl::OkStatus();
  }
  return done.status();
}

absl::Status ContainerApi::Remove(const ContainerView& c, bool force) {
  const std::string& id = c.record.id();
  if (c.running()) {
    if (!force) {
      return absl::FailedPreconditionError(
          absl::StrCat("You cannot remove a running container ", id,
                       ". Stop the container before attempting removal or force remove"));
    }
    RETURN_IF_ERROR(SetLabels(id, {{kLabelManuallyStopped, "true"}}));
    absl::Status st = Kill(id, SIGKILL, /*all=*/true);
    if (!st.ok() && !absl::IsNotFound(st) && !absl::IsFailedPrecondition(st)) return st;
    Wait(id, "", absl::Seconds(30)).IgnoreError();
  }
  if (c.task.has_value()) {
    absl::Status st = DeleteTask(id);
    if (!st.ok() && !absl::IsNotFound(st)) return st;
  }
  cpb::DeleteContainerRequest del;
  del.set_id(id);
  google::protobuf::Empty e;
  grpc::Status st = containers_->Delete(client_.Context().get(), del, &e);
  if (st.error_code() != grpc::StatusCode::NOT_FOUND) RETURN_IF_ERROR(Call(st));
  if (!c.record.snapshot_key().empty()) {
    auto snaps = spb::Snapshots::NewStub(client_.channel());
    spb::RemoveSnapshotRequest rm;
    rm.set_snapshotter(c.record.snapshotter());
    rm.set_key(c.record.snapshot_key());
    grpc::Status rst = snaps->Remove(client_.Context().get(), rm, &e);
    if (!rst.ok() && rst.error_code() != grpc::StatusCode::NOT_FOUND) RETURN_IF_ERROR(Call(rst));
  }
  return absl::OkStatus();
}

}  // namespace berth::ctl
