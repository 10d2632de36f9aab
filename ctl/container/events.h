// `events`: berthd's bus envelopes (docs/tasks.md's topics) as Docker's events — type, action,
// actor and attributes — printed as `docker events` prints them, filtered as its --filter.
//
//   /containers/create → container create      /tasks/start → container start
//   /containers/delete → container destroy     /tasks/exit → container die (exitCode=N),
//   /tasks/paused, /tasks/resumed → pause, unpause          or exec_die for an exec'd process
//   /tasks/exec-added, /tasks/exec-started → exec_create, exec_start
//   /tasks/oom → oom    /images/create, /images/update → image tag    /images/delete → untag
//
// Other topics (task create/delete, snapshots, content, container updates) have no Docker
// counterpart and are not shown.
#ifndef BERTH_CTL_CONTAINER_EVENTS_H_
#define BERTH_CTL_CONTAINER_EVENTS_H_

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "berth/services/events/v1/events.pb.h"

namespace berth::ctl {

struct DockerEvent {
  std::string type;    // "container", "image"
  std::string action;  // "start", "die", "tag", …
  std::string id;      // container id; image name
  std::map<std::string, std::string> attributes;
  absl::Time time;
};

// What a container event's attributes say of the container (Docker adds its labels too).
struct EventContainer {
  std::string name;
  std::string image;  // as recorded; shown familiar ("busybox")
  std::map<std::string, std::string> labels;
};

// The Docker event for an envelope, or nullopt for a topic Docker has none for. `lookup`
// describes a container by id (nullopt if unknown).
absl::optional<DockerEvent> ToDockerEvent(
    const berth::services::events::v1::Envelope& envelope,
    const std::function<absl::optional<EventContainer>(const std::string&)>& lookup);

// "2026-11-28T10:00:00.000000000Z container start <id> (image=busybox, name=web)": the time
// in `zone`, the attributes sorted by key.
std::string EventLine(const DockerEvent& e, absl::TimeZone zone = absl::LocalTimeZone());

// The object `--format` templates see: Type, Action, Actor{ID, Attributes}, scope, time,
// timeNano, and the legacy status, id, from.
nlohmann::json EventObject(const DockerEvent& e);

// --filter for events: container (id, id prefix or name), event (action), image, label (k or
// k=v, on the attributes), type. Values of one key are alternatives; keys must all match.
class EventFilter {
 public:
  // INVALID_ARGUMENT "bad format of filter (expected name=value)" or "invalid filter 'foo'".
  static absl::StatusOr<EventFilter> Parse(const std::vector<std::string>& args);
  bool Match(const DockerEvent& e) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_EVENTS_H_
