// create: from a bundle to an init process waiting in its namespaces and cgroup.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/linux/capabilities.h"
#include "runtime/linux/channel.h"
#include "runtime/linux/clone.h"
#include "runtime/linux/device_filter.h"
#include "runtime/linux/init.h"
#include "runtime/linux/process.h"
#include "runtime/linux/rootfs.h"
#include "runtime/linux/seccomp.h"
#include "spdlog/spdlog.h"

namespace berth::runtime {
namespace {

// A hard limit above the runtime's own can only be set with CAP_SYS_RESOURCE. Without it the
// container could never start; say so at create, naming the limit.
absl::Status CheckRlimits(const std::vector<Rlimit>& rlimits) {
  absl::StatusOr<std::string> status = sys::ReadFile("/proc/self/status");
  const bool can_raise = status.ok() && HasEffectiveCap(*status, 24 /* CAP_SYS_RESOURCE */);
  for (const Rlimit& r : rlimits) {
    if (r.soft > r.hard) {
      return absl::InvalidArgumentError(absl::StrCat("process.rlimits: ", r.type, " soft limit ",
                                                     r.soft, " is above its hard limit ", r.hard));
    }
    absl::StatusOr<int> resource = RlimitResource(r.type);
    if (!resource.ok()) return resource.status();
    rlimit own{};
    ::getrlimit(*resource, &own);
    if (r.hard > own.rlim_max && !can_raise) {
      return absl::FailedPreconditionError(absl::StrCat(
          "process.rlimits: ", r.type, " hard limit ", r.hard, " is above berth-runtime's own (",
          own.rlim_max, "), which it cannot raise without CAP_SYS_RESOURCE"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSpec(const Spec& spec, const CreateOptions& o) {
  if (!spec.process) {
    return absl::InvalidArgumentError("process: missing; the spec must say what to run");
  }
  const Namespace* mnt = spec.FindNamespace("mount");
  if (mnt == nullptr || !mnt->path.empty()) {
    return absl::InvalidArgumentError(
        "linux.namespaces: a new mount namespace is required (the rootfs is set up in it)");
  }
  if (spec.process->terminal && o.console_socket.empty()) {
    return absl::InvalidArgumentError(
        "process.terminal is true, but no --console-socket was given to receive the pty");
  }
  if (!spec.process->terminal && !o.console_socket.empty()) {
    return absl::InvalidArgumentError(
        "--console-socket was given, but process.terminal is false in the spec");
  }
  if (!spec.linux.uid_mappings.empty() != !spec.linux.gid_mappings.empty()) {
    return absl::InvalidArgumentError("linux.uidMappings and linux.gidMappings go together");
  }
  const Namespace* user = spec.FindNamespace("user");
  if (user != nullptr && user->path.empty() && spec.linux.uid_mappings.empty()) {
    return absl::InvalidArgumentError("linux.uidMappings: a new user namespace needs id mappings");
  }
  RETURN_IF_ERROR(CheckLsmLabels(*spec.process));
  RETURN_IF_ERROR(CheckRlimits(spec.process->rlimits));
  return ValidateSysctl(spec);
}

std::string MapText(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const IdMapping& m : maps) {
    absl::StrAppend(&out, m.container_id, " ", m.host_id, " ", m.size, "\n");
  }
  return out;
}

absl::Status WriteIdMaps(pid_t pid, const Spec& spec) {
  for (const auto& [file, maps] : {std::pair{"uid_map", &spec.linux.uid_mappings},
                                   std::pair{"gid_map", &spec.linux.gid_mappings}}) {
    std::string p = absl::StrCat("/proc/", pid, "/", file);
    ASSIGN_OR_RETURN(UniqueFd fd, sys::Open(p, O_WRONLY));
    std::string text = MapText(*maps);
    if (::write(fd.get(), text.data(), text.size()) < 0) {
      return ErrnoStatus(absl::StrCat("write(", p, ")"), errno);
    }
  }
  return absl::OkStatus();
}

// The time namespace's offsets can only be set before any process is in it: unshare it here,
// set them, and let the child be born into it.
absl::Status PrepareTimeNamespace(const Spec& spec) {
  const Namespace* t = spec.FindNamespace("time");
  if (t == nullptr || !t->path.empty()) return absl::OkStatus();
  if (::unshare(CLONE_NEWTIME) != 0) return ErrnoStatus("unshare(CLONE_NEWTIME)", errno);
  std::string offsets;
  for (const auto& [clock, secs] : spec.linux.time_offsets_secs) {
    absl::StrAppend(&offsets, clock, " ", secs, " 0\n");
  }
  if (offsets.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(UniqueFd fd, sys::Open("/proc/self/timens_offsets", O_WRONLY));
  if (::write(fd.get(), offsets.data(), offsets.size()) < 0) {
    return ErrnoStatus("write(/proc/self/timens_offsets)", errno);
  }
  return absl::OkStatus();
}

std::string Rfc3339Now() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", absl::Now(), absl::UTCTimeZone());
}

std::string WaitDescription(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return "";
  if (WIFEXITED(status)) return absl::StrCat(" (exit status ", WEXITSTATUS(status), ")");
  if (WIFSIGNALED(status)) return absl::StrCat(" (killed by signal ", WTERMSIG(status), ")");
  return "";
}

}  // namespace

absl::StatusOr<pid_t> Create(StateStore& store, const CreateOptions& o) {
  char real[PATH_MAX];
  if (::realpath(o.bundle.c_str(), real) == nullptr) {
    return ErrnoStatus(absl::StrCat("bundle ", o.bundle), errno);
  }
  const std::string bundle = real;
  absl::StatusOr<std::string> text = sys::ReadFile(path::Join(bundle, "config.json"));
  if (!text.ok()) return Annotate(text.status(), "reading the bundle's config.json");
  ASSIGN_OR_RETURN(Spec spec, ParseSpec(*text));
  RETURN_IF_ERROR(CheckSpec(spec, o));
  const std::string rootfs = path::IsAbsolute(spec.root_path) ? path::Clean(spec.root_path)
                                                              : path::Join(bundle, spec.root_path);
  if (!sys::Exists(rootfs)) {
    return absl::NotFoundError(absl::StrCat("root.path: ", rootfs, " does not exist"));
  }

  // Capabilities and the seccomp filter are resolved now, so that a bad profile fails here.
  ProcessSecurity security;
  ASSIGN_OR_RETURN(security.capabilities, ResolveProcessCapabilities(*spec.process));
  ASSIGN_OR_RETURN(std::unique_ptr<SeccompFilter> seccomp,
                   SeccompFilter::FromSpec(*text, store.SeccompCache()));
  security.seccomp = seccomp.get();

  RETURN_IF_ERROR(store.Reserve(o.id));
  absl::Cleanup unreserve = [&] { store.Remove(o.id).IgnoreError(); };

  // The container's cgroup, with its limits written before any process is in it.
  std::optional<Cgroup> cgroup;
  std::vector<CgroupWrite> writes;
  if (spec.linux.resources) {
    ASSIGN_OR_RETURN(writes, ConvertResources(*spec.linux.resources));
  }
  absl::StatusOr<std::string> mount = FindCgroup2Mount();
  if (mount.ok()) {
    std::string cg_path =
        spec.linux.cgroups_path.empty() ? absl::StrCat("/berth/", o.id) : spec.linux.cgroups_path;
    if (cg_path.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("linux.cgroupsPath \"", cg_path,
                       "\" is in systemd form; berth-runtime manages cgroupfs "
                       "paths only"));
    }
    ASSIGN_OR_RETURN(Cgroup cg, Cgroup::Open(*mount, cg_path));
    RETURN_IF_ERROR(cg.Create(writes));
    cgroup = std::move(cg);
  } else if (!writes.empty()) {
    return Annotate(mount.status(), "linux.resources");
  }
  absl::Cleanup uncgroup = [&] {
    if (cgroup) cgroup->Remove().IgnoreError();
  };

  UniqueFd cgroup_fd;
  if (cgroup) {
    ASSIGN_OR_RETURN(cgroup_fd, cgroup->OpenDir());
    // Device rules are an eBPF program on the cgroup, in place before any process is in it.
    if (spec.linux.resources && !spec.linux.resources->devices.empty()) {
      RETURN_IF_ERROR(AttachDeviceFilter(
          cgroup_fd.get(), EffectiveDeviceRules(&*spec.linux.resources, spec.linux.devices)));
    }
  }
  ASSIGN_OR_RETURN(UniqueFd start_fd, ListenUnix(store.StartSocket(o.id), SOCK_SEQPACKET));
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return ErrnoStatus("socketpair", errno);
  }
  UniqueFd parent_end(sv[0]), child_end(sv[1]);
  UniqueFd console;
  if (!o.console_socket.empty()) {
    ASSIGN_OR_RETURN(console, ConnectUnix(o.console_socket, SOCK_STREAM));
  }

  // Namespaces to join: open them all first, while paths still mean the host's view.
  InitConfig init{.spec = &spec,
                  .rootfs = rootfs,
                  .cgroup_dir = cgroup ? cgroup->dir() : "",
                  .no_pivot = o.no_pivot,
                  .no_new_keyring = o.no_new_keyring,
                  .preserve_fds = o.preserve_fds,
                  .sync_fd = child_end.get(),
                  .start_fd = start_fd.get(),
                  .console_fd = console.valid() ? console.get() : -1,
                  .security = security,
                  .hooks = !spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty() ||
                           !spec.hooks.create_container.empty() ||
                           !spec.hooks.start_container.empty()};
  std::vector<UniqueFd> join_fds;
  uint64_t flags = 0;
  size_t nkinds = 0;
  const NamespaceKind* kinds = NamespaceKinds(&nkinds);
  for (size_t i = 0; i < nkinds; ++i) {
    const Namespace* ns = spec.FindNamespace(kinds[i].spec_name);
    if (ns == nullptr) continue;
    if (ns->path.empty()) {
      // cgroup is unshared by the child once inside its cgroup; time was unshared above.
      if (kinds[i].flag != CLONE_NEWCGROUP && std::string(kinds[i].spec_name) != "time") {
        flags |= static_cast<uint64_t>(kinds[i].flag);
      }
      if (kinds[i].flag == CLONE_NEWUSER) init.new_user_ns = true;
      continue;
    }
    ASSIGN_OR_RETURN(UniqueFd fd, sys::Open(ns->path, O_RDONLY));
    if (kinds[i].flag == CLONE_NEWPID) {
      // A pid namespace is entered by the children of whoever joins it: join it here.
      if (::setns(fd.get(), CLONE_NEWPID) != 0) {
        return ErrnoStatus(absl::StrCat("setns(", ns->path, ")"), errno);
      }
      continue;
    }
    init.join.push_back({fd.get(), kinds[i].flag});
    join_fds.push_back(std::move(fd));
  }
  RETURN_IF_ERROR(PrepareTimeNamespace(spec));

  bool into_cgroup = false;
  pid_t pid = Clone3(flags, cgroup_fd.get(), &into_cgroup);
  if (pid < 0) return ErrnoStatus("clone3", errno);
  if (pid == 0) {
    ResetSignals();
    parent_end.Reset();
    RunInit(init);
  }
  child_end.Reset();
  start_fd.Reset();
  console.Reset();
  absl::Cleanup kill_init = [&] {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  };

  if (cgroup && !into_cgroup) RETURN_IF_ERROR(cgroup->AddProcess(pid));
  if (init.new_user_ns) RETURN_IF_ERROR(WriteIdMaps(pid, spec));
  if (init.new_user_ns) RETURN_IF_ERROR(SendMessage(parent_end.get(), "mapped"));
  ContainerState st{.id = o.id,
                    .pid = pid,
                    .pid_start_time = ProcessStartTime(pid),
                    .bundle = bundle,
                    .rootfs = rootfs,
                    .created = Rfc3339Now(),
                    .cgroup_dir = cgroup ? cgroup->dir() : "",
                    .annotations = spec.annotations,
                    .oci_version = spec.oci_version};
  for (;;) {
    absl::StatusOr<std::string> reply = ReceiveMessage(parent_end.get());
    if (!reply.ok()) {
      std::move(kill_init).Cancel();
      return absl::InternalError(
          absl::StrCat("container init exited during setup", WaitDescription(pid)));
    }
    if (*reply == "hooks") {
      // The init has its mounts and waits before pivot_root: prestart and createRuntime
      // hooks run now, in the runtime's namespaces.
      const std::string state = StateJsonAs(st, Status::kCreating);
      absl::Status hooks = RunHooks(spec.hooks.prestart, "prestart", state);
      if (hooks.ok()) hooks = RunHooks(spec.hooks.create_runtime, "createRuntime", state);
      if (!hooks.ok()) return hooks;
      RETURN_IF_ERROR(SendMessage(parent_end.get(), "state " + state));
      continue;
    }
    absl::StatusOr<std::string> ready = ParseReply(*reply);
    if (!ready.ok()) return Annotate(ready.status(), "container init");
    break;
  }
  RETURN_IF_ERROR(store.SaveConfig(o.id, *text));
  RETURN_IF_ERROR(store.Save(st));
  if (!o.pid_file.empty()) {
    RETURN_IF_ERROR(
        sys::WriteFileAtomic(o.pid_file, absl::StrCat(pid), 0644, sys::Durability::kVolatile));
  }
  std::move(kill_init).Cancel();
  std::move(uncgroup).Cancel();
  std::move(unreserve).Cancel();
  return pid;
}

}  // namespace berth::runtime
