#include "ctl/container/events.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "berth/events/v1/events.pb.h"
#include "ctl/container/timespec.h"
#include "ctl/image_format.h"

namespace berth::ctl {
namespace {

namespace ev = berth::events::v1;
using json = nlohmann::json;

// "busybox" for docker.io/library/busybox:latest, as Docker shows the image a user typed.
std::string Familiar(const std::string& image) {
  if (image.empty()) return image;
  RepoTag rt = SplitName(image);
  if (!rt.digest.empty()) return FamiliarName(image);
  return rt.tag == "latest" ? rt.repository : absl::StrCat(rt.repository, ":", rt.tag);
}

DockerEvent ContainerEvent(
    const std::string& action, const std::string& id,
    const std::function<absl::optional<EventContainer>(const std::string&)>& lookup) {
  DockerEvent e;
  e.type = "container";
  e.action = action;
  e.id = id;
  if (absl::optional<EventContainer> c = lookup(id)) {
    for (const auto& [k, v] : c->labels) {
      if (!absl::StartsWith(k, "berth.io/")) e.attributes[k] = v;
    }
    if (!c->image.empty()) e.attributes["image"] = Familiar(c->image);
    if (!c->name.empty()) e.attributes["name"] = c->name;
  }
  return e;
}

}  // namespace

absl::optional<DockerEvent> ToDockerEvent(
    const berth::services::events::v1::Envelope& env,
    const std::function<absl::optional<EventContainer>(const std::string&)>& lookup) {
  const std::string& topic = env.topic();
  const google::protobuf::Any& any = env.event();
  absl::optional<DockerEvent> out;
  if (topic == "/containers/create") {
    ev::ContainerCreate m;
    if (!any.UnpackTo(&m)) return absl::nullopt;
    out = ContainerEvent("create", m.id(), [&](const std::string& id) {
      absl::optional<EventContainer> c = lookup(id);
      if (!c) c = EventContainer{};
      if (c->name.empty()) c->name = m.name();
      if (c->image.empty()) c->image = m.image();
      return c;
    });
  } else if (topic == "/containers/delete") {
    ev::ContainerDelete m;
    if (!any.UnpackTo(&m)) return absl::nullopt;
    out = ContainerEvent("destroy", m.id(), [&](const std::string& id) {
      absl::optional<EventContainer> c = lookup(id);
      if (!c) c = EventContainer{};
      if (c->name.empty()) c->name = m.name();
      return c;
    });
  } else if (topic == "/tasks/start") {
    ev::TaskStart m;
    if (!any.UnpackTo(&m)) return absl::nullopt;
    out = ContainerEvent("start", m.container_id(), lookup);
  } else if (topic == "/tasks/exit") {
    ev::TaskExit m;
    if (!any.UnpackTo(&m)) return absl::nullopt;
    out = ContainerEvent(m.exec_id().empty() ? "die" : "exec_die", m.container_id(), lookup);
    if (!m.exec_id().empty()) out->attributes["execID"] = m.exec_id();
    out->attributes["exitCode"] = absl::StrCat(m.exit_status());
  } else if (topic == "/tasks/exec-added") {
    ev::TaskExecAdded m;
    if (!any.UnpackTo(&m)) return absl::nullopt;
    out = ContainerEvent("exec_create", m.container_id(), lookup);
    out->attributes["execID"] = m.exec_id();
  } else if (topic == "/tasks/exec-started") {
    ev::TaskExecStarted m;
    if (!any.UnpackTo(&m)) return absl::nullopt;
    out = ContainerEvent("exec_start", m.container_id(), lookup);
    out->attributes["execID"] = m.exec_id();
  } else if (topic == "/tasks/paused") {
    ev::TaskPaused m;
    if (!any.UnpackTo(&m)) return absl::nullopt;
    out = ContainerEvent("pause", m.container_id(), lookup);
  } else if (topic == "/tasks/resumed") {
    ev::TaskResumed m;
    if (!any.UnpackTo(&m)) return absl::nullopt;
    out = ContainerEvent("unpause", m.container_id(), lookup);
  } else if (topic == "/tasks/oom") {
    ev::TaskOOM m;
    if (!any.UnpackTo(&m)) return absl::nullopt;
    out = ContainerEvent("oom", m.container_id(), lookup);
  } else if (topic == "/images/create" || topic == "/images/update") {
    ev::ImageCreate m;  // ImageUpdate has the same fields
    if (!any.UnpackTo(&m)) {
      ev::ImageUpdate u;
      if (!any.UnpackTo(&u)) return absl::nullopt;
      m.set_name(u.name());
    }
    out = DockerEvent{.type = "image", .action = "tag", .id = m.name()};
    out->attributes["name"] = Familiar(m.name());
  } else if (topic == "/images/delete") {
    ev::ImageDelete m;
    if (!any.UnpackTo(&m)) return absl::nullopt;
    out = DockerEvent{.type = "image", .action = "untag", .id = m.name()};
    out->attributes["name"] = Familiar(m.name());
  }
  if (out) {
    out->time = absl::FromUnixSeconds(env.timestamp().seconds()) +
                absl::Nanoseconds(env.timestamp().nanos());
  }
  return out;
}

std::string EventLine(const DockerEvent& e, absl::TimeZone zone) {
  std::string line =
      absl::StrCat(FormatRfc3339NanoFixed(e.time, zone), " ", e.type, " ", e.action, " ", e.id);
  if (!e.attributes.empty()) {
    absl::StrAppend(&line, " (", absl::StrJoin(e.attributes, ", ", absl::PairFormatter("=")), ")");
  }
  return line;
}

json EventObject(const DockerEvent& e) {
  const int64_t nanos = absl::ToUnixNanos(e.time);
  json j = {
      {"Type", e.type},
      {"Action", e.action},
      {"Actor", {{"ID", e.id}, {"Attributes", e.attributes}}},
      {"scope", "local"},
      {"time", nanos / 1'000'000'000},
      {"timeNano", nanos},
  };
  if (e.type == "container") {
    j["status"] = e.action;
    j["id"] = e.id;
    auto it = e.attributes.find("image");
    j["from"] = it == e.attributes.end() ? "" : it->second;
  }
  return j;
}

absl::StatusOr<EventFilter> EventFilter::Parse(const std::vector<std::string>& args) {
  EventFilter f;
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError("bad format of filter (expected name=value)");
    }
    std::string key = absl::AsciiStrToLower(arg.substr(0, eq));
    if (key != "container" && key != "event" && key != "image" && key != "label" && key != "type") {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter '", key, "'"));
    }
    f.values_[key].push_back(arg.substr(eq + 1));
  }
  return f;
}

bool EventFilter::Match(const DockerEvent& e) const {
  const auto attr = [&](const std::string& k) {
    auto it = e.attributes.find(k);
    return it == e.attributes.end() ? std::string() : it->second;
  };
  for (const auto& [key, values] : values_) {
    bool any = false;
    for (const std::string& v : values) {
      if (key == "type") {
        any = e.type == v;
      } else if (key == "event") {
        any = e.action == v;
      } else if (key == "container") {
        any = e.type == "container" &&
              (attr("name") == v || (!v.empty() && absl::StartsWith(e.id, v)));
      } else if (key == "image") {
        any = e.type == "image" ? (e.id == v || attr("name") == v) : attr("image") == v;
      } else if (key == "label") {
        const size_t eq = v.find('=');
        auto it = e.attributes.find(v.substr(0, eq));
        any =
            it != e.attributes.end() && (eq == std::string::npos || it->second == v.substr(eq + 1));
      }
      if (any) break;
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace berth::ctl
