// Container labels with a meaning to both the CLI and berthd: the contract between `berth
// run/stop/ps/rmi` and the daemon's restart manager and tasks service. The CLI writes the
// first five (and network, ports) on the container record; the daemon writes the rest.
// services/tasks/task_manager.h holds the daemon's copy of the keys it uses (services/ cannot
// depend on ctl/).
#ifndef BERTH_CTL_CONTAINER_LABELS_H_
#define BERTH_CTL_CONTAINER_LABELS_H_

namespace berth::ctl {

// "no", "always", "on-failure", "on-failure:N" or "unless-stopped" (RestartPolicy::ToString).
// Written by `run`/`create` on every container, "no" included: its presence is what makes the
// daemon manage the container (restarts, and removal of an auto_remove one once it exits;
// docs/tasks.md). `update --restart` changes it.
inline constexpr char kLabelRestartPolicy[] = "berth.io/restart-policy";

// The signal `stop` sends first, by name ("SIGTERM", "SIGRTMIN+3"); from `--stop-signal` or
// the image's StopSignal. Absent means SIGTERM.
inline constexpr char kLabelStopSignal[] = "berth.io/stop-signal";

// Seconds `stop` waits after the stop signal before SIGKILL, in decimal; from
// `--stop-timeout`. Absent means 10.
inline constexpr char kLabelStopTimeout[] = "berth.io/stop-timeout";

// Written by `run`/`create`: the ID of the image the container was made from
// ("sha256:<config digest>"), which the record's `image` name may stop naming (`tag`, `rmi`).
// `rmi` matches containers to images by it and `inspect` shows it as .Image; a container made
// before it existed has none, and its image name is resolved instead (RecordedImageId).
inline constexpr char kLabelImageId[] = "berth.io/image-id";

// "true" once the user stopped the container (`stop`, `kill`): the restart manager then leaves
// an "unless-stopped" or "always" container down until it is started again, which clears it.
inline constexpr char kLabelManuallyStopped[] = "berth.io/manually-stopped";

// Written by the daemon: how many times it has restarted the container under its policy, in
// decimal ("Restarting (N)" is the exit status, not this).
inline constexpr char kLabelRestartCount[] = "berth.io/restart-count";

// Written by the daemon when a task is deleted: the last exit status in decimal (128+signal
// for a signal death), as `ps` shows in "Exited (N)".
inline constexpr char kLabelExitStatus[] = "berth.io/exit-status";

// Written by the daemon when a task is deleted: when the task exited, RFC 3339 with
// nanoseconds (UTC), for `ps`'s "Exited (N) 2 minutes ago".
inline constexpr char kLabelExitedAt[] = "berth.io/exited-at";

// Written by the daemon when a task is deleted: when that task started, RFC 3339 with
// nanoseconds (UTC). Its presence is what tells "Exited" from "Created" in `ps`.
inline constexpr char kLabelStartedAt[] = "berth.io/started-at";

// Written by the daemon: "true" when the kernel's OOM killer killed a process of the
// container's last run (cleared when it starts again), for inspect's State.OOMKilled.
inline constexpr char kLabelOomKilled[] = "berth.io/oom-killed";

// Written by `run`/`create`: "default" (the daemon's default network, normally the bridge),
// "none", "host", or network names separated by commas (--network).
inline constexpr char kLabelNetwork[] = "berth.io/network";

// Written by `run`/`create`: the -p/-P ports, comma-separated, in -p's canonical form
// ("127.0.0.1:8080:80/tcp", "80/udp").
inline constexpr char kLabelPorts[] = "berth.io/ports";

// Written by the daemon while the container runs: "127.0.0.1:8080->80/tcp, …", the addresses
// actually bound (a random host port filled in), for ps's PORTS and `berth port`.
inline constexpr char kLabelPublishedPorts[] = "berth.io/published-ports";

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_LABELS_H_
