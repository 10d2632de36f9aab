#include "ctl/container_query.h"

#include <cstdio>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "berth/services/snapshots/v1/snapshots.grpc.pb.h"
#include "common/status_macros.h"
#include "ctl/container/format.h"
#include "ctl/container/image_id.h"
#include "ctl/container/labels.h"
#include "ctl/image_format.h"

namespace berth::ctl {
namespace {

namespace cpb = berth::services::containers::v1;
namespace ipb = berth::services::images::v1;
namespace spb = berth::services::snapshots::v1;
namespace tpb = berth::services::tasks::v1;

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> ConnectClient(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Client::Create(global));
  RETURN_IF_ERROR(client->Connect());
  return client;
}

std::string DisplayImage(const std::string& image) {
  if (image.empty()) return image;
  const RepoTag rt = SplitName(image);
  if (!rt.digest.empty()) return FamiliarName(image);
  return rt.tag == "latest" ? rt.repository : absl::StrCat(rt.repository, ":", rt.tag);
}

std::string LabelOf(const cpb::Container& c, const std::string& key) {
  auto it = c.labels().find(key);
  return it == c.labels().end() ? "" : it->second;
}

int64_t SnapshotUsage(Client& client, const cpb::Container& c) {
  if (c.snapshot_key().empty()) return 0;
  spb::UsageRequest req;
  req.set_snapshotter(c.snapshotter());
  req.set_key(c.snapshot_key());
  spb::UsageResponse resp;
  grpc::Status st =
      spb::Snapshots::NewStub(client.channel())->Usage(client.Context().get(), req, &resp);
  return st.ok() ? resp.size() : 0;
}

const ImageDetails* ImageCache::Get(const std::string& name) {
  auto it = cache_.find(name);
  if (it == cache_.end()) {
    absl::StatusOr<ImageDetails> d = absl::NotFoundError(name);
    ipb::GetImageRequest req;
    req.set_name(name);
    ipb::GetImageResponse resp;
    grpc::Status st =
        ipb::Images::NewStub(client_.channel())->Get(client_.Context().get(), req, &resp);
    if (st.ok()) d = DescribeImage(client_, resp.image());
    it = cache_.emplace(name, std::move(d)).first;
  }
  return it->second.ok() ? &*it->second : nullptr;
}

std::string ImageCache::IdOf(const cpb::Container& c) {
  if (std::string id = RecordedImageId(c); !id.empty()) return id;
  const ImageDetails* d = Get(c.image());
  return d != nullptr ? d->id : "";
}

const ImageDetails* ImageCache::ImageOf(const cpb::Container& c) {
  const std::string id = RecordedImageId(c);
  return Get(id.empty() ? c.image() : id);
}

namespace {

// Whether the daemon is done with a managed container's last exit: the task is gone and the
// exit is on the record (berth.io/exited-at), which the daemon writes once it has also
// cleaned up the task's directory — that directory's path is the next task's.
bool ExitSettled(ContainerApi& api, const std::string& id, absl::optional<absl::Time> exited) {
  tpb::GetRequest req;
  req.set_container_id(id);
  tpb::GetResponse resp;
  if (api.tasks().Get(api.client().Context().get(), req, &resp).error_code() !=
      grpc::StatusCode::NOT_FOUND) {
    return false;
  }
  absl::StatusOr<cpb::Container> c = api.Get(id);
  if (!c.ok()) return true;  // gone (auto-removed): nothing will be written any more
  absl::StatusOr<absl::Time> label = ParseRfc3339(LabelOf(*c, kLabelExitedAt));
  if (exited.has_value()) return label.ok() && *label >= *exited - absl::Milliseconds(1);
  absl::StatusOr<absl::Time> started = ParseRfc3339(LabelOf(*c, kLabelStartedAt));
  if (!started.ok()) return true;  // never ran
  // The daemon's start time comes after the process began; an exit can stamp earlier.
  return label.ok() && *label >= *started - absl::Seconds(5);
}

}  // namespace

absl::StatusOr<ContainerView> SettledView(ContainerApi& api, const std::string& ref,
                                          absl::Duration settle) {
  ASSIGN_OR_RETURN(ContainerView v, api.View(ref));
  if (v.task.has_value() || LabelOf(v.record, kLabelRestartPolicy).empty() ||
      LabelOf(v.record, kLabelStartedAt).empty()) {
    return v;
  }
  const absl::Time deadline = absl::Now() + settle;
  while (absl::Now() < deadline && !ExitSettled(api, v.record.id(), absl::nullopt)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  return api.View(v.record.id());
}

absl::Status StartStopped(ContainerApi& api, const ContainerView& v, absl::Duration settle) {
  const std::string& id = v.record.id();
  const bool ran = v.task.has_value() || !LabelOf(v.record, kLabelStartedAt).empty();
  if (ran && !LabelOf(v.record, kLabelRestartPolicy).empty()) {
    absl::optional<absl::Time> exited;
    if (v.task.has_value() && v.task->status() == tpb::STOPPED) {
      exited = absl::FromUnixSeconds(v.task->exited_at().seconds()) +
               absl::Nanoseconds(v.task->exited_at().nanos());
    }
    const absl::Time deadline = absl::Now() + settle;
    while (absl::Now() < deadline && !ExitSettled(api, id, exited)) {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  if (absl::Status st = api.DeleteTask(id); !st.ok() && !absl::IsNotFound(st)) return st;
  RETURN_IF_ERROR(api.SetLabels(id, {{kLabelManuallyStopped, ""}}));
  RETURN_IF_ERROR(api.CreateTask(v.record, LabelOf(v.record, kLabelOpenStdin) == "true"));
  absl::StatusOr<uint32_t> pid = api.Start(id);
  if (!pid.ok()) {
    api.DeleteTask(id).IgnoreError();
    return pid.status();
  }
  return absl::OkStatus();
}

int Failed(const absl::Status& st) {
  std::fprintf(stderr, "berth: %s\n", std::string(st.message()).c_str());
  return kExitError;
}

bool Confirm(const std::string& message) {
  std::printf("%s [y/N] ", message.c_str());
  std::fflush(stdout);
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    std::printf("\n");
    return false;
  }
  answer = std::string(absl::StripAsciiWhitespace(answer));
  return answer == "y" || answer == "Y";
}

}  // namespace berth::ctl
