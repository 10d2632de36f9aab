#include "ctl/prune.h"

#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "berth/services/containers/v1/containers.grpc.pb.h"
#include "berth/services/content/v1/content.grpc.pb.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "common/status_macros.h"
#include "ctl/container/timespec.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"
#include "ctl/image_format.h"
#include "ctl/image_info.h"

namespace berth::ctl {
namespace {

namespace cpb = berth::services::containers::v1;
namespace ctpb = berth::services::content::v1;
namespace ipb = berth::services::images::v1;

bool HasLabel(const std::map<std::string, std::string>& labels, const std::string& want) {
  const size_t eq = want.find('=');
  auto it = labels.find(want.substr(0, eq));
  return it != labels.end() && (eq == std::string::npos || it->second == want.substr(eq + 1));
}

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace

absl::StatusOr<PruneFilter> PruneFilter::Parse(const std::vector<std::string>& args,
                                               absl::Time now) {
  PruneFilter f;
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError("bad format of filter (expected name=value)");
    }
    // "label!=k" splits at its '=' after the '!'.
    std::string key = arg.substr(0, eq);
    const std::string value = arg.substr(eq + 1);
    if (key == "until") {
      ASSIGN_OR_RETURN(absl::Time t, ParseTimeSpec("until", value, now));
      f.until = t;
    } else if (key == "label") {
      f.labels.push_back(value);
    } else if (key == "label!") {
      f.not_labels.push_back(value);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter '", key, "'"));
    }
  }
  return f;
}

bool PruneFilter::Match(const std::map<std::string, std::string>& labels,
                        absl::Time created) const {
  if (until.has_value() && created >= *until) return false;
  for (const std::string& l : this->labels) {
    if (!HasLabel(labels, l)) return false;
  }
  for (const std::string& l : not_labels) {
    if (HasLabel(labels, l)) return false;
  }
  return true;
}

std::string PruneReport::Text(const std::string& header) const {
  if (lines.empty()) return "";
  std::string out = header + "\n";
  for (const std::string& l : lines) absl::StrAppend(&out, l, "\n");
  return out + "\n";
}

absl::StatusOr<int64_t> ContentBytes(Client& client) {
  auto ctx = client.Context();
  auto reader = ctpb::Content::NewStub(client.channel())->List(ctx.get(), {});
  ctpb::ListContentResponse resp;
  int64_t total = 0;
  while (reader->Read(&resp)) {
    for (const ctpb::Info& i : resp.info()) total += i.size();
  }
  if (grpc::Status st = reader->Finish(); !st.ok()) return CallError(client, st);
  return total;
}

absl::StatusOr<PruneReport> PruneContainers(Client& client, const PruneFilter& filter) {
  ContainerApi api(client);
  ASSIGN_OR_RETURN(std::vector<ContainerView> list, api.List());
  PruneReport r;
  for (const ContainerView& v : list) {
    if (v.running()) continue;
    if (!filter.Match({v.record.labels().begin(), v.record.labels().end()},
                      TimeOf(v.record.created_at()))) {
      continue;
    }
    const int64_t size = SnapshotUsage(client, v.record);
    if (absl::Status st = api.Remove(v, /*force=*/false); !st.ok()) {
      Failed(st);
      r.errors = true;
      continue;
    }
    r.lines.push_back(v.record.id());
    r.reclaimed += size;
  }
  return r;
}

absl::StatusOr<PruneReport> PruneImages(Client& client, const PruneFilter& filter, bool all) {
  auto images = ipb::Images::NewStub(client.channel());
  ipb::ListImagesResponse list;
  if (grpc::Status st = images->List(client.Context().get(), {}, &list); !st.ok()) {
    return CallError(client, st);
  }
  cpb::ListContainersResponse containers;
  if (grpc::Status st =
          cpb::Containers::NewStub(client.channel())->List(client.Context().get(), {}, &containers);
      !st.ok()) {
    return CallError(client, st);
  }
  ImageCache cache(client);
  std::set<std::string> used_ids, used_names;
  for (const cpb::Container& c : containers.containers()) {
    used_names.insert(c.image());
    if (std::string id = cache.IdOf(c); !id.empty()) used_ids.insert(std::move(id));
  }
  // Which names go, and how many names each config id has left.
  std::map<std::string, int> names_per_id;
  std::vector<std::pair<std::string, std::string>> doomed;  // name, id
  for (const ipb::Image& image : list.images()) {
    const ImageDetails* d = cache.Get(image.name());
    const std::string id = d != nullptr ? d->id : "";
    ++names_per_id[id];
    if (used_names.count(image.name()) > 0 || (!id.empty() && used_ids.count(id) > 0)) continue;
    if (!all && SplitName(image.name()).tag != "<none>") continue;
    if (!filter.Match({image.labels().begin(), image.labels().end()}, TimeOf(image.created_at()))) {
      continue;
    }
    doomed.emplace_back(image.name(), id);
  }
  PruneReport r;
  if (doomed.empty()) return r;
  ASSIGN_OR_RETURN(const int64_t before, ContentBytes(client));
  for (const auto& [name, id] : doomed) {
    ipb::DeleteImageRequest del;
    del.set_name(name);
    del.set_sync(true);
    google::protobuf::Empty e;
    if (grpc::Status st = images->Delete(client.Context().get(), del, &e); !st.ok()) {
      Failed(CallError(client, st));
      r.errors = true;
      continue;
    }
    r.lines.push_back(absl::StrCat("untagged: ", FamiliarName(name)));
    if (!id.empty() && --names_per_id[id] == 0) r.lines.push_back(absl::StrCat("deleted: ", id));
  }
  ASSIGN_OR_RETURN(const int64_t after, ContentBytes(client));
  r.reclaimed = before > after ? before - after : 0;
  return r;
}

}  // namespace berth::ctl
