#include "runtime/spec.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/path.h"
#include "common/status_macros.h"

namespace berth::runtime {
namespace {

using json = nlohmann::json;

absl::Status Invalid(const std::string& where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

const char* TypeName(const json& j) { return j.type_name(); }

// Readers for one member of an object. A missing or null member leaves `out` as it is; a
// member of the wrong type is an error naming its path.
class Obj {
 public:
  Obj(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

  std::string Path(absl::string_view key) const {
    return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
  }
  const json* Find(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }

  absl::Status Str(const char* key, std::string* out) const {
    const json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_string())
      return Invalid(Path(key), absl::StrCat("expected a string, got ", TypeName(*v)));
    *out = v->get<std::string>();
    return absl::OkStatus();
  }
  absl::Status Bool(const char* key, bool* out) const {
    const json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_boolean())
      return Invalid(Path(key), absl::StrCat("expected true or false, got ", TypeName(*v)));
    *out = v->get<bool>();
    return absl::OkStatus();
  }
  template <typename T>
  absl::Status Num(const char* key, T* out) const {
    std::optional<T> o;
    RETURN_IF_ERROR(Num(key, &o));
    if (o) *out = *o;
    return absl::OkStatus();
  }
  template <typename T>
  absl::Status Num(const char* key, std::optional<T>* out) const {
    const json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    return NumValue(*v, Path(key), out);
  }
  template <typename T>
  static absl::Status NumValue(const json& v, const std::string& where, std::optional<T>* out) {
    if (!v.is_number_integer())
      return Invalid(where, absl::StrCat("expected an integer, got ", TypeName(v)));
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return Invalid(where, "out of range");
      *out = static_cast<T>(u);
    } else {
      int64_t s = v.get<int64_t>();
      if (s < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          (s > 0 &&
           static_cast<uint64_t>(s) > static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
        return Invalid(where, "out of range");
      }
      *out = static_cast<T>(s);
    }
    return absl::OkStatus();
  }
  absl::Status StrList(const char* key, std::vector<std::string>* out) const {
    return Each(key, [&](const json& v, const std::string& where) -> absl::Status {
      if (!v.is_string())
        return Invalid(where, absl::StrCat("expected a string, got ", TypeName(v)));
      out->push_back(v.get<std::string>());
      return absl::OkStatus();
    });
  }
  absl::Status StrMap(const char* key, std::map<std::string, std::string>* out) const {
    const json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_object())
      return Invalid(Path(key), absl::StrCat("expected an object, got ", TypeName(*v)));
    for (const auto& [k, val] : v->items()) {
      if (!val.is_string()) return Invalid(absl::StrCat(Path(key), ".", k), "expected a string");
      (*out)[k] = val.get<std::string>();
    }
    return absl::OkStatus();
  }
  // Calls fn(element, "path[i]") for each element of an array member.
  template <typename Fn>
  absl::Status Each(const char* key, Fn fn) const {
    const json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_array())
      return Invalid(Path(key), absl::StrCat("expected an array, got ", TypeName(*v)));
    for (size_t i = 0; i < v->size(); ++i) {
      RETURN_IF_ERROR(fn((*v)[i], absl::StrCat(Path(key), "[", i, "]")));
    }
    return absl::OkStatus();
  }
  // An object member as an Obj; nullopt when absent.
  absl::StatusOr<std::optional<Obj>> Sub(const char* key) const {
    const json* v = Find(key);
    if (v == nullptr) return std::optional<Obj>();
    if (!v->is_object())
      return Invalid(Path(key), absl::StrCat("expected an object, got ", TypeName(*v)));
    return std::optional<Obj>(Obj(*v, Path(key)));
  }

 private:
  const json& j_;
  std::string path_;
};

absl::StatusOr<Obj> AsObj(const json& v, const std::string& where) {
  if (!v.is_object()) return Invalid(where, absl::StrCat("expected an object, got ", TypeName(v)));
  return Obj(v, where);
}

absl::Status ParseUser(const Obj& o, User* u) {
  RETURN_IF_ERROR(o.Num("uid", &u->uid));
  RETURN_IF_ERROR(o.Num("gid", &u->gid));
  RETURN_IF_ERROR(o.Num("umask", &u->umask));
  return o.Each("additionalGids", [&](const json& v, const std::string& where) -> absl::Status {
    std::optional<uint32_t> g;
    RETURN_IF_ERROR(Obj::NumValue(v, where, &g));
    u->additional_gids.push_back(*g);
    return absl::OkStatus();
  });
}

absl::Status ParseProcessObj(const Obj& o, Process* p) {
  RETURN_IF_ERROR(o.Bool("terminal", &p->terminal));
  ASSIGN_OR_RETURN(std::optional<Obj> cs, o.Sub("consoleSize"));
  if (cs) {
    p->console_size.emplace();
    RETURN_IF_ERROR(cs->Num("height", &p->console_size->height));
    RETURN_IF_ERROR(cs->Num("width", &p->console_size->width));
  }
  ASSIGN_OR_RETURN(std::optional<Obj> user, o.Sub("user"));
  if (user) RETURN_IF_ERROR(ParseUser(*user, &p->user));
  RETURN_IF_ERROR(o.StrList("args", &p->args));
  RETURN_IF_ERROR(o.StrList("env", &p->env));
  RETURN_IF_ERROR(o.Str("cwd", &p->cwd));
  if (!path::IsAbsolute(p->cwd)) {
    return Invalid(o.Path("cwd"), absl::StrCat("must be an absolute path, got \"", p->cwd, "\""));
  }
  if (p->args.empty()) return Invalid(o.Path("args"), "must name the program to run");
  ASSIGN_OR_RETURN(std::optional<Obj> caps, o.Sub("capabilities"));
  if (caps) {
    p->capabilities.emplace();
    RETURN_IF_ERROR(caps->StrList("bounding", &p->capabilities->bounding));
    RETURN_IF_ERROR(caps->StrList("effective", &p->capabilities->effective));
    RETURN_IF_ERROR(caps->StrList("inheritable", &p->capabilities->inheritable));
    RETURN_IF_ERROR(caps->StrList("permitted", &p->capabilities->permitted));
    RETURN_IF_ERROR(caps->StrList("ambient", &p->capabilities->ambient));
  }
  RETURN_IF_ERROR(o.Each("rlimits", [&](const json& v, const std::string& where) -> absl::Status {
    ASSIGN_OR_RETURN(Obj r, AsObj(v, where));
    Rlimit rl;
    RETURN_IF_ERROR(r.Str("type", &rl.type));
    RETURN_IF_ERROR(r.Num("hard", &rl.hard));
    RETURN_IF_ERROR(r.Num("soft", &rl.soft));
    p->rlimits.push_back(rl);
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(o.Bool("noNewPrivileges", &p->no_new_privileges));
  RETURN_IF_ERROR(o.Str("apparmorProfile", &p->apparmor_profile));
  RETURN_IF_ERROR(o.Num("oomScoreAdj", &p->oom_score_adj));
  RETURN_IF_ERROR(o.Str("selinuxLabel", &p->selinux_label));
  ASSIGN_OR_RETURN(std::optional<Obj> sched, o.Sub("scheduler"));
  if (sched) {
    Scheduler& sc = p->scheduler.emplace();
    RETURN_IF_ERROR(sched->Str("policy", &sc.policy));
    RETURN_IF_ERROR(sched->Num("nice", &sc.nice));
    RETURN_IF_ERROR(sched->Num("priority", &sc.priority));
    RETURN_IF_ERROR(sched->StrList("flags", &sc.flags));
    RETURN_IF_ERROR(sched->Num("runtime", &sc.runtime));
    RETURN_IF_ERROR(sched->Num("deadline", &sc.deadline));
    RETURN_IF_ERROR(sched->Num("period", &sc.period));
  }
  ASSIGN_OR_RETURN(std::optional<Obj> io, o.Sub("ioPriority"));
  if (io) {
    IoPriority& ip = p->io_priority.emplace();
    RETURN_IF_ERROR(io->Str("class", &ip.io_class));
    RETURN_IF_ERROR(io->Num("priority", &ip.priority));
  }
  return absl::OkStatus();
}

absl::Status ParseMounts(const Obj& o, std::vector<Mount>* out) {
  return o.Each("mounts", [&](const json& v, const std::string& where) -> absl::Status {
    ASSIGN_OR_RETURN(Obj m, AsObj(v, where));
    Mount mount;
    RETURN_IF_ERROR(m.Str("destination", &mount.destination));
    RETURN_IF_ERROR(m.Str("type", &mount.type));
    RETURN_IF_ERROR(m.Str("source", &mount.source));
    RETURN_IF_ERROR(m.StrList("options", &mount.options));
    if (!path::IsAbsolute(mount.destination)) {
      return Invalid(m.Path("destination"),
                     absl::StrCat("must be an absolute path, got \"", mount.destination, "\""));
    }
    out->push_back(std::move(mount));
    return absl::OkStatus();
  });
}

constexpr const char* kNamespaceTypes[] = {"pid", "network", "mount",  "ipc",
                                           "uts", "user",    "cgroup", "time"};

absl::Status ParseIdMappings(const Obj& o, const char* key, std::vector<IdMapping>* out) {
  return o.Each(key, [&](const json& v, const std::string& where) -> absl::Status {
    ASSIGN_OR_RETURN(Obj m, AsObj(v, where));
    IdMapping id;
    RETURN_IF_ERROR(m.Num("containerID", &id.container_id));
    RETURN_IF_ERROR(m.Num("hostID", &id.host_id));
    RETURN_IF_ERROR(m.Num("size", &id.size));
    if (id.size == 0) return Invalid(m.Path("size"), "must be at least 1");
    out->push_back(id);
    return absl::OkStatus();
  });
}

absl::Status ParseResources(const Obj& o, Resources* r);

absl::Status ParseLinux(const Obj& o, Linux* l) {
  RETURN_IF_ERROR(
      o.Each("namespaces", [&](const json& v, const std::string& where) -> absl::Status {
        ASSIGN_OR_RETURN(Obj n, AsObj(v, where));
        Namespace ns;
        RETURN_IF_ERROR(n.Str("type", &ns.type));
        RETURN_IF_ERROR(n.Str("path", &ns.path));
        bool known = false;
        for (const char* t : kNamespaceTypes) known = known || ns.type == t;
        if (!known) {
          return Invalid(n.Path("type"), absl::StrCat("unknown namespace type \"", ns.type,
                                                      "\" (pid, network, mount, ipc, uts, user, "
                                                      "cgroup or time)"));
        }
        if (!ns.path.empty() && !path::IsAbsolute(ns.path)) {
          return Invalid(n.Path("path"),
                         absl::StrCat("must be an absolute path, got \"", ns.path, "\""));
        }
        for (const Namespace& seen : l->namespaces) {
          if (seen.type == ns.type)
            return Invalid(where, absl::StrCat("namespace \"", ns.type, "\" listed twice"));
        }
        l->namespaces.push_back(std::move(ns));
        return absl::OkStatus();
      }));
  RETURN_IF_ERROR(ParseIdMappings(o, "uidMappings", &l->uid_mappings));
  RETURN_IF_ERROR(ParseIdMappings(o, "gidMappings", &l->gid_mappings));
  RETURN_IF_ERROR(o.Each("devices", [&](const json& v, const std::string& where) -> absl::Status {
    ASSIGN_OR_RETURN(Obj d, AsObj(v, where));
    Device dev;
    RETURN_IF_ERROR(d.Str("path", &dev.path));
    RETURN_IF_ERROR(d.Str("type", &dev.type));
    RETURN_IF_ERROR(d.Num("major", &dev.major));
    RETURN_IF_ERROR(d.Num("minor", &dev.minor));
    RETURN_IF_ERROR(d.Num("fileMode", &dev.file_mode));
    RETURN_IF_ERROR(d.Num("uid", &dev.uid));
    RETURN_IF_ERROR(d.Num("gid", &dev.gid));
    if (!path::IsAbsolute(dev.path)) {
      return Invalid(d.Path("path"),
                     absl::StrCat("must be an absolute path, got \"", dev.path, "\""));
    }
    if (dev.type != "c" && dev.type != "b" && dev.type != "u" && dev.type != "p") {
      return Invalid(d.Path("type"),
                     absl::StrCat("unknown device type \"", dev.type, "\" (c, b, u or p)"));
    }
    l->devices.push_back(std::move(dev));
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(o.Str("cgroupsPath", &l->cgroups_path));
  ASSIGN_OR_RETURN(std::optional<Obj> res, o.Sub("resources"));
  if (res) {
    l->resources.emplace();
    RETURN_IF_ERROR(ParseResources(*res, &*l->resources));
  }
  RETURN_IF_ERROR(o.Str("rootfsPropagation", &l->rootfs_propagation));
  if (!l->rootfs_propagation.empty()) {
    static constexpr const char* kProp[] = {"private", "rprivate", "slave",      "rslave",
                                            "shared",  "rshared",  "unbindable", "runbindable"};
    bool ok = false;
    for (const char* p : kProp) ok = ok || l->rootfs_propagation == p;
    if (!ok) {
      return Invalid(o.Path("rootfsPropagation"),
                     absl::StrCat("unknown propagation \"", l->rootfs_propagation, "\""));
    }
  }
  RETURN_IF_ERROR(o.StrList("maskedPaths", &l->masked_paths));
  RETURN_IF_ERROR(o.StrList("readonlyPaths", &l->readonly_paths));
  RETURN_IF_ERROR(o.StrMap("sysctl", &l->sysctl));
  RETURN_IF_ERROR(o.Str("mountLabel", &l->mount_label));
  l->has_seccomp = o.Find("seccomp") != nullptr;
  ASSIGN_OR_RETURN(std::optional<Obj> offsets, o.Sub("timeOffsets"));
  if (offsets) {
    for (const char* clock : {"monotonic", "boottime"}) {
      ASSIGN_OR_RETURN(std::optional<Obj> c, offsets->Sub(clock));
      if (!c) continue;
      int64_t secs = 0;
      RETURN_IF_ERROR(c->Num("secs", &secs));
      l->time_offsets_secs[clock] = secs;
    }
  }
  return absl::OkStatus();
}

absl::Status ParseResources(const Obj& o, Resources* r) {
  RETURN_IF_ERROR(o.Each("devices", [&](const json& v, const std::string& where) -> absl::Status {
    ASSIGN_OR_RETURN(Obj d, AsObj(v, where));
    DeviceRule rule;
    RETURN_IF_ERROR(d.Bool("allow", &rule.allow));
    RETURN_IF_ERROR(d.Str("type", &rule.type));
    if (rule.type.empty()) rule.type = "a";
    RETURN_IF_ERROR(d.Num("major", &rule.major));
    RETURN_IF_ERROR(d.Num("minor", &rule.minor));
    RETURN_IF_ERROR(d.Str("access", &rule.access));
    r->devices.push_back(rule);
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(std::optional<Obj> mem, o.Sub("memory"));
  if (mem) {
    Resources::Memory& m = r->memory.emplace();
    RETURN_IF_ERROR(mem->Num("limit", &m.limit));
    RETURN_IF_ERROR(mem->Num("reservation", &m.reservation));
    RETURN_IF_ERROR(mem->Num("swap", &m.swap));
    RETURN_IF_ERROR(mem->Num("kernel", &m.kernel));
    RETURN_IF_ERROR(mem->Num("kernelTCP", &m.kernel_tcp));
    RETURN_IF_ERROR(mem->Num("swappiness", &m.swappiness));
    bool b = false;
    if (mem->Find("disableOOMKiller")) {
      RETURN_IF_ERROR(mem->Bool("disableOOMKiller", &b));
      m.disable_oom_killer = b;
    }
  }
  ASSIGN_OR_RETURN(std::optional<Obj> cpu, o.Sub("cpu"));
  if (cpu) {
    Resources::Cpu& c = r->cpu.emplace();
    RETURN_IF_ERROR(cpu->Num("shares", &c.shares));
    RETURN_IF_ERROR(cpu->Num("quota", &c.quota));
    RETURN_IF_ERROR(cpu->Num("period", &c.period));
    RETURN_IF_ERROR(cpu->Num("realtimeRuntime", &c.realtime_runtime));
    RETURN_IF_ERROR(cpu->Num("realtimePeriod", &c.realtime_period));
    RETURN_IF_ERROR(cpu->Str("cpus", &c.cpus));
    RETURN_IF_ERROR(cpu->Str("mems", &c.mems));
    RETURN_IF_ERROR(cpu->Num("idle", &c.idle));
  }
  ASSIGN_OR_RETURN(std::optional<Obj> pids, o.Sub("pids"));
  if (pids) {
    int64_t limit = 0;
    RETURN_IF_ERROR(pids->Num("limit", &limit));
    r->pids_limit = limit;
  }
  ASSIGN_OR_RETURN(std::optional<Obj> bio, o.Sub("blockIO"));
  if (bio) {
    Resources::BlockIo& b = r->block_io.emplace();
    RETURN_IF_ERROR(bio->Num("weight", &b.weight));
    RETURN_IF_ERROR(bio->Num("leafWeight", &b.leaf_weight));
    RETURN_IF_ERROR(
        bio->Each("weightDevice", [&](const json& v, const std::string& where) -> absl::Status {
          ASSIGN_OR_RETURN(Obj d, AsObj(v, where));
          WeightDevice w;
          RETURN_IF_ERROR(d.Num("major", &w.major));
          RETURN_IF_ERROR(d.Num("minor", &w.minor));
          RETURN_IF_ERROR(d.Num("weight", &w.weight));
          RETURN_IF_ERROR(d.Num("leafWeight", &w.leaf_weight));
          b.weight_device.push_back(w);
          return absl::OkStatus();
        }));
    auto throttle = [&](const char* key, std::vector<ThrottleDevice>* out) {
      return bio->Each(key, [&](const json& v, const std::string& where) -> absl::Status {
        ASSIGN_OR_RETURN(Obj d, AsObj(v, where));
        ThrottleDevice t;
        RETURN_IF_ERROR(d.Num("major", &t.major));
        RETURN_IF_ERROR(d.Num("minor", &t.minor));
        RETURN_IF_ERROR(d.Num("rate", &t.rate));
        out->push_back(t);
        return absl::OkStatus();
      });
    };
    RETURN_IF_ERROR(throttle("throttleReadBpsDevice", &b.throttle_read_bps));
    RETURN_IF_ERROR(throttle("throttleWriteBpsDevice", &b.throttle_write_bps));
    RETURN_IF_ERROR(throttle("throttleReadIOPSDevice", &b.throttle_read_iops));
    RETURN_IF_ERROR(throttle("throttleWriteIOPSDevice", &b.throttle_write_iops));
  }
  RETURN_IF_ERROR(
      o.Each("hugepageLimits", [&](const json& v, const std::string& where) -> absl::Status {
        ASSIGN_OR_RETURN(Obj h, AsObj(v, where));
        HugepageLimit hl;
        RETURN_IF_ERROR(h.Str("pageSize", &hl.page_size));
        RETURN_IF_ERROR(h.Num("limit", &hl.limit));
        r->hugepage_limits.push_back(hl);
        return absl::OkStatus();
      }));
  RETURN_IF_ERROR(o.StrMap("unified", &r->unified));
  return absl::OkStatus();
}

absl::Status ParseHooks(const Obj& o, Hooks* h) {
  auto list = [&](const char* key, std::vector<Hook>* out) {
    return o.Each(key, [&](const json& v, const std::string& where) -> absl::Status {
      ASSIGN_OR_RETURN(Obj ho, AsObj(v, where));
      Hook hook;
      RETURN_IF_ERROR(ho.Str("path", &hook.path));
      RETURN_IF_ERROR(ho.StrList("args", &hook.args));
      RETURN_IF_ERROR(ho.StrList("env", &hook.env));
      RETURN_IF_ERROR(ho.Num("timeout", &hook.timeout));
      if (!path::IsAbsolute(hook.path)) {
        return Invalid(ho.Path("path"),
                       absl::StrCat("must be an absolute path, got \"", hook.path, "\""));
      }
      out->push_back(std::move(hook));
      return absl::OkStatus();
    });
  };
  RETURN_IF_ERROR(list("prestart", &h->prestart));
  RETURN_IF_ERROR(list("createRuntime", &h->create_runtime));
  RETURN_IF_ERROR(list("createContainer", &h->create_container));
  RETURN_IF_ERROR(list("startContainer", &h->start_container));
  RETURN_IF_ERROR(list("poststart", &h->poststart));
  return list("poststop", &h->poststop);
}

// Parses a JSON document that must be an object; `what` names it in messages.
absl::StatusOr<json> ParseObject(const std::string& text, absl::string_view what) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid JSON: ", e.what()));
  }
  if (!doc.is_object()) return Invalid(std::string(what), "expected a JSON object");
  return doc;
}

}  // namespace

bool Spec::HasNamespace(const std::string& type) const { return FindNamespace(type) != nullptr; }

const Namespace* Spec::FindNamespace(const std::string& type) const {
  for (const Namespace& ns : linux.namespaces) {
    if (ns.type == type) return &ns;
  }
  return nullptr;
}

absl::StatusOr<Spec> ParseSpec(const std::string& text) {
  ASSIGN_OR_RETURN(json doc, ParseObject(text, "config.json"));
  Obj o(doc, "");
  Spec s;
  s.raw_json = text;
  RETURN_IF_ERROR(o.Str("ociVersion", &s.oci_version));
  ASSIGN_OR_RETURN(std::optional<Obj> proc, o.Sub("process"));
  if (proc) {
    s.process.emplace();
    RETURN_IF_ERROR(ParseProcessObj(*proc, &*s.process));
  }
  ASSIGN_OR_RETURN(std::optional<Obj> root, o.Sub("root"));
  if (!root) return Invalid("root", "missing: the spec must name the root filesystem");
  RETURN_IF_ERROR(root->Str("path", &s.root_path));
  RETURN_IF_ERROR(root->Bool("readonly", &s.root_readonly));
  if (s.root_path.empty()) return Invalid("root.path", "must not be empty");
  RETURN_IF_ERROR(o.Str("hostname", &s.hostname));
  RETURN_IF_ERROR(o.Str("domainname", &s.domainname));
  RETURN_IF_ERROR(ParseMounts(o, &s.mounts));
  ASSIGN_OR_RETURN(std::optional<Obj> hooks, o.Sub("hooks"));
  if (hooks) RETURN_IF_ERROR(ParseHooks(*hooks, &s.hooks));
  RETURN_IF_ERROR(o.StrMap("annotations", &s.annotations));
  ASSIGN_OR_RETURN(std::optional<Obj> linux_obj, o.Sub("linux"));
  if (linux_obj) RETURN_IF_ERROR(ParseLinux(*linux_obj, &s.linux));
  if (!s.hostname.empty() && !s.HasNamespace("uts")) {
    return Invalid("hostname", "setting a hostname needs a new uts namespace");
  }
  if ((!s.linux.uid_mappings.empty() || !s.linux.gid_mappings.empty()) && !s.HasNamespace("user")) {
    return Invalid("linux.uidMappings", "id mappings need a user namespace");
  }
  return s;
}

absl::StatusOr<Resources> ParseResources(const std::string& text) {
  ASSIGN_OR_RETURN(json doc, ParseObject(text, "resources"));
  Resources r;
  RETURN_IF_ERROR(ParseResources(Obj(doc, "resources"), &r));
  return r;
}

absl::StatusOr<Process> ParseProcess(const std::string& text) {
  ASSIGN_OR_RETURN(json doc, ParseObject(text, "process"));
  Process p;
  RETURN_IF_ERROR(ParseProcessObj(Obj(doc, "process"), &p));
  return p;
}

}  // namespace berth::runtime
