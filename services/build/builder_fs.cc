// The Builder's filesystem steps: RUN, COPY/ADD and WORKDIR, and FsStep, which turns the
// changes of one into a layer (or takes the layer from the cache).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/digest.h"
#include "common/path.h"
#include "common/safe_path.h"
#include "common/status_macros.h"
#include "common/syscall.h"
#include "common/unique_fd.h"
#include "common/user.h"
#include "services/build/builder.h"
#include "services/build/copy.h"
#include "services/build/run_step.h"
#include "services/build/shell_lex.h"
#include "services/build/sources.h"
#include "services/images/oci.h"
#include "services/images/reference.h"
#include "snapshotter/mount/mount.h"

namespace berth::build {
namespace {

namespace bpb = ::berth::services::build::v1;
namespace tpb = ::berth::types::v1;

// Layers are written uncompressed: building is local, and compressing is the slowest part
// of making a layer. (Push may compress them later.)
constexpr char kLayerType[] = "application/vnd.oci.image.layer.v1.tar";
// An empty tar: only end-of-archive blocks.
constexpr int64_t kMaxEmptyTar = 10240;

// A snapshot's mounts mounted on a directory of the build's own, for as long as it lives.
class Mounted {
 public:
  static absl::StatusOr<std::unique_ptr<Mounted>> Mount(const Mounts& mounts,
                                                        const std::string& dir) {
    RETURN_IF_ERROR(sys::MkdirAll(dir, 0700));
    std::unique_ptr<Mounted> m(new Mounted(dir));
    absl::Status st = ::berth::snapshotter::MountAll(ToMounts(mounts), dir);
    if (!st.ok()) {
      ::rmdir(dir.c_str());
      m->dir_.clear();
      return st;
    }
    m->fd_ = UniqueFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!m->fd_.valid()) return ErrnoStatus(absl::StrCat("open(", dir, ")"), errno);
    return m;
  }
  ~Mounted() {
    fd_.Reset();
    if (dir_.empty()) return;
    if (!::berth::snapshotter::Unmount(dir_).ok()) {
      ::berth::snapshotter::Unmount(dir_, /*detach=*/true).IgnoreError();
    }
    ::rmdir(dir_.c_str());
  }
  int fd() const { return fd_.get(); }
  const std::string& path() const { return dir_; }

 private:
  explicit Mounted(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  UniqueFd fd_;
};

// --chown=user[:group] against the image's passwd and group. As Docker: without a group, the
// group id is the user id.
absl::StatusOr<Owner> ResolveChown(const std::string& spec, const std::string& rootfs) {
  ASSIGN_OR_RETURN(UserFiles files, ReadUserFiles(rootfs));
  const size_t colon = spec.find(':');
  const std::string user = spec.substr(0, colon);
  Owner o;
  if (!user.empty()) {
    ASSIGN_OR_RETURN(ExecUser u, ResolveUser(user, files));
    o.uid = u.uid;
  }
  o.gid = o.uid;
  if (colon != std::string::npos) {
    ASSIGN_OR_RETURN(ExecUser g, ResolveUser(absl::StrCat("0:", spec.substr(colon + 1)), files));
    o.gid = g.gid;
  }
  return o;
}

bool IsUrl(const std::string& s) {
  return absl::StartsWith(s, "http://") || absl::StartsWith(s, "https://") ||
         absl::StartsWith(s, "git://") || absl::StartsWith(s, "git@");
}

}  // namespace

absl::Status Builder::FsStep(StageState& s, int step, const std::string& created_by,
                             const std::string& key_extra, const FsWork& work) {
  const absl::Time started = absl::Now();
  s.key = StepKey(s.key, created_by, key_extra);
  const std::string& ns = backend_.ns();
  if (!params_.options.no_cache()) {
    ASSIGN_OR_RETURN(absl::optional<CacheEntry> hit, cache_.Get(ns, s.key));
    if (hit.has_value()) {
      if (hit->layer_digest.empty()) {
        AddHistory(s.doc, created_by, hit->created, true);
        Done(step, true, nullptr, started);
        return absl::OkStatus();
      }
      const std::string chain = ChainId(s.chain, hit->diff_id);
      ASSIGN_OR_RETURN(bool have_snapshot, backend_.SnapshotExists(chain));
      ASSIGN_OR_RETURN(bool have_blob, backend_.HasBlob(hit->layer_digest));
      if (have_snapshot && have_blob) {
        RETURN_IF_ERROR(backend_.AddToLease(lease_, hit->layer_digest));
        Layer l;
        l.desc.set_media_type(hit->layer_media_type);
        l.desc.set_digest(hit->layer_digest);
        l.desc.set_size(hit->layer_size);
        l.diff_id = hit->diff_id;
        s.layers.push_back(l);
        s.chain = chain;
        AddDiffId(s.doc, hit->diff_id);
        AddHistory(s.doc, created_by, hit->created, false);
        Done(step, true, &l, started);
        return absl::OkStatus();
      }
    }
  }

  const std::string key = NewKey("active");
  ASSIGN_OR_RETURN(Mounts mounts, backend_.Prepare(key, s.chain));
  bool committed = false;
  absl::Cleanup drop = [&] {
    if (!committed) backend_.Remove(key).IgnoreError();
  };
  RETURN_IF_ERROR(work(mounts, key));
  if (cancelled_()) return absl::CancelledError("the build was cancelled");

  // The layer: the active snapshot against a view of its parent.
  Mounts left;
  std::string view;
  absl::Cleanup drop_view = [&] {
    if (!view.empty()) backend_.Remove(view).IgnoreError();
  };
  if (!s.chain.empty()) {
    view = NewKey("parent");
    ASSIGN_OR_RETURN(left, backend_.View(view, s.chain));
  }
  ASSIGN_OR_RETURN(tpb::Descriptor desc, backend_.Diff(left, mounts, kLayerType));
  const std::string diff_id = desc.annotations().count("berth.io/uncompressed")
                                  ? desc.annotations().at("berth.io/uncompressed")
                                  : desc.digest();
  bool empty = false;
  if (desc.size() <= kMaxEmptyTar) {
    ASSIGN_OR_RETURN(std::string bytes, backend_.ReadBlob(desc.digest(), kMaxEmptyTar));
    empty = bytes.find_first_not_of('\0') == std::string::npos;
  }
  CacheEntry e;
  e.created = absl::Now();
  if (empty) {
    // Nothing changed: no layer, as BuildKit does.
    AddHistory(s.doc, created_by, e.created, true);
    RETURN_IF_ERROR(cache_.Put(ns, s.key, e));
    Done(step, false, nullptr, started);
    return absl::OkStatus();
  }
  const std::string chain = ChainId(s.chain, diff_id);
  absl::Status st = backend_.Commit(chain, key, {{"berth.io/snapshot/uncompressed", diff_id}});
  if (absl::IsAlreadyExists(st)) {
    // Another build made the same layer: theirs is as good as ours.
  } else if (!st.ok()) {
    return st;
  } else {
    committed = true;
  }
  RETURN_IF_ERROR(backend_.AddToLease(kCacheLease, desc.digest()));
  Layer l;
  l.desc.set_media_type(kLayerType);
  l.desc.set_digest(desc.digest());
  l.desc.set_size(desc.size());
  l.diff_id = diff_id;
  s.layers.push_back(l);
  s.chain = chain;
  AddDiffId(s.doc, diff_id);
  AddHistory(s.doc, created_by, e.created, false);
  e.layer_digest = desc.digest();
  e.layer_media_type = kLayerType;
  e.layer_size = desc.size();
  e.diff_id = diff_id;
  RETURN_IF_ERROR(cache_.Put(ns, s.key, e));
  Done(step, false, &l, started);
  return absl::OkStatus();
}

absl::Status Builder::Run(StageState& s, const Instruction& in, int step) {
  for (const Instruction::Flag& f : in.flags) {
    if (f.name == "network" && (f.value == "none" || f.value == "default")) continue;
    return LineError(in, absl::UnimplementedError(
                             absl::StrCat("RUN --", f.name, " is not supported by berth build")));
  }
  const Json& cfg = RunConfig(s.doc);
  std::vector<std::string> args = in.args;
  if (!in.json) {
    std::vector<std::string> shell = StringList(cfg, "Shell");
    if (shell.empty()) shell = {"/bin/sh", "-c"};
    shell.push_back(in.args.at(0));
    args = std::move(shell);
  }
  if (!in.json && !in.heredocs.empty()) {
    // `RUN <<EOF` runs the heredoc as the script; with a command around it, the shell gets the
    // command and the heredocs (bodies and terminators) and reads them itself.
    std::string script;
    const std::string text(absl::StripAsciiWhitespace(in.args.at(0)));
    if (in.heredocs.size() == 1 && in.FindHeredoc(text) == &in.heredocs[0]) {
      script = in.heredocs[0].content;
    } else {
      script = absl::StrCat(in.args[0], "\n");
      for (const Instruction::Heredoc& h : in.heredocs)
        absl::StrAppend(&script, h.content, h.name, "\n");
    }
    args.back() = script;
  }
  if (args.empty()) return LineError(in, absl::InvalidArgumentError("RUN has no command"));
  // The process sees the config's Env and the stage's ARGs (ENV wins); the ARGs show in the
  // history as Docker shows them ("|1 V=x /bin/sh -c …") and are part of the cache key.
  std::map<std::string, std::string> env = EnvMap(cfg);
  std::vector<std::string> env_list = StringList(cfg, "Env");
  std::vector<std::string> arg_list;
  for (const auto& [k, v] : s.args) {
    arg_list.push_back(absl::StrCat(k, "=", v));
    if (!env.count(k)) env_list.push_back(absl::StrCat(k, "=", v));
  }
  if (!env.count("PATH")) env_list.push_back(absl::StrCat("PATH=", kDefaultPathEnv));
  std::string created_by = "RUN ";
  if (!arg_list.empty()) {
    absl::StrAppend(&created_by, "|", arg_list.size(), " ", absl::StrJoin(arg_list, " "), " ");
  }
  absl::StrAppend(&created_by, absl::StrJoin(args, " "));
  const std::string user = cfg.value("User", "");
  const std::string cwd = cfg.value("WorkingDir", "");
  auto work = [&](const Mounts& mounts, const std::string& key) -> absl::Status {
    // Which mount points the runtime will have to make (to take them away again after).
    std::vector<std::string> stubs;
    {
      ASSIGN_OR_RETURN(std::unique_ptr<Mounted> m, Mounted::Mount(mounts, MountDir()));
      for (const std::string& d : MountStubs()) {
        struct stat st;
        if (::fstatat(m->fd(), d.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) stubs.push_back(d);
      }
    }
    RunRequest req;
    req.id = NewKey("run");
    req.runtime = params_.runtime;
    req.snapshot_key = key;
    req.rootfs = mounts;
    req.spec = RunSpec({.id = req.id,
                        .ns = backend_.ns(),
                        .args = args,
                        .env = env_list,
                        .cwd = cwd.empty() ? "/" : cwd,
                        .user = user});
    req.on_output = [&](int stream, absl::string_view data) {
      bpb::BuildResponse r;
      r.mutable_log()->set_step(step);
      r.mutable_log()->set_stream(stream);
      r.mutable_log()->set_data(std::string(data));
      emit_(r);
    };
    req.cancelled = cancelled_;
    absl::StatusOr<int> status = RunContainer(backend_, req);
    if (!status.ok()) return LineError(in, status.status());
    if (!stubs.empty()) {
      ASSIGN_OR_RETURN(std::unique_ptr<Mounted> m, Mounted::Mount(mounts, MountDir()));
      for (const std::string& d : stubs) ::unlinkat(m->fd(), d.c_str(), AT_REMOVEDIR);
    }
    if (*status != 0) {
      return LineError(in, absl::AbortedError(absl::StrCat(
                               "process \"", absl::StrJoin(args, " "),
                               "\" did not complete successfully: exit code: ", *status)));
    }
    return absl::OkStatus();
  };
  return FsStep(s, step, created_by, "", work);
}

absl::Status Builder::Workdir(StageState& s, const Instruction& in, int step) {
  ASSIGN_OR_RETURN(std::string dir, Expand(s, in.args[0], in));
  Json& cfg = RunConfig(s.doc);
  if (!path::IsAbsolute(dir)) dir = path::Join(cfg.value("WorkingDir", "/"), dir);
  dir = path::Clean(dir);
  cfg["WorkingDir"] = dir;
  const std::string user = cfg.value("User", "");
  // The directory is made (owned by USER, as BuildKit does) if the image lacks it.
  auto work = [&](const Mounts& mounts, const std::string&) -> absl::Status {
    ASSIGN_OR_RETURN(std::unique_ptr<Mounted> m, Mounted::Mount(mounts, MountDir()));
    Owner owner;
    if (!user.empty()) {
      absl::StatusOr<UserFiles> files = ReadUserFiles(m->path());
      absl::StatusOr<ExecUser> u =
          files.ok() ? ResolveUser(user, *files) : absl::StatusOr<ExecUser>(files.status());
      if (!u.ok()) return LineError(in, u.status());
      owner = {u->uid, u->gid};
    }
    absl::StatusOr<bool> made = MakeDirs(m->fd(), dir, owner);
    if (!made.ok()) return LineError(in, made.status());
    return absl::OkStatus();
  };
  return FsStep(s, step, absl::StrCat("WORKDIR ", dir), "", work);
}

absl::Status Builder::Copy(StageState& s, const Instruction& in, int step) {
  const bool add = in.keyword == "ADD";
  CopyOptions opts;
  opts.unpack_archives = add;
  std::string from, chown, shown_flags;
  for (const Instruction::Flag& f : in.flags) {
    if (f.name == "link") continue;  // layers are always made independently here
    if (f.name != "from" && f.name != "chown" && f.name != "chmod") {
      return LineError(in, absl::UnimplementedError(absl::StrCat(
                               in.keyword, " --", f.name, " is not supported by berth build")));
    }
    ASSIGN_OR_RETURN(std::string v, Expand(s, f.value, in));
    absl::StrAppend(&shown_flags, "--", f.name, "=", v, " ");
    if (f.name == "from") from = v;
    if (f.name == "chown") chown = v;
    if (f.name == "chmod") {
      absl::StatusOr<mode_t> mode = ParseChmod(v);
      if (!mode.ok()) return LineError(in, mode.status());
      opts.chmod = *mode;
    }
  }
  std::vector<std::string> args;
  for (const std::string& a : in.args) {
    ASSIGN_OR_RETURN(std::string v, Expand(s, a, in));
    args.push_back(v);
  }
  const std::string dest_arg = args.back();
  std::vector<std::string> sources(args.begin(), args.end() - 1);
  for (const std::string& src : sources) {
    if (IsUrl(src)) {
      return LineError(in, absl::FailedPreconditionError(absl::StrCat(
                               add ? "ADD" : "COPY", " from a URL (", src,
                               "): berth build has no network access; put the file in the build "
                               "context and COPY it")));
    }
  }
  std::string dest = dest_arg;
  if (!path::IsAbsolute(dest)) {
    const bool dir = absl::EndsWith(dest, "/") || dest == "." || absl::EndsWith(dest, "/.");
    dest = path::Join(RunConfig(s.doc).value("WorkingDir", "/"), dest);
    if (dir && !absl::EndsWith(dest, "/")) dest += "/";
  }
  const std::string shown_sources = absl::StrJoin(sources, " ");
  // Where the sources come from, and what identifies their content for the cache.
  std::string from_chain, key_extra;
  const bool from_tree = !from.empty();
  // Heredoc sources ("COPY <<EOF /etc/x") become files of their own, in a directory of the step.
  std::string local_tree = params_.context_dir, local_name = "build context";
  size_t heredocs = 0;
  for (const std::string& src : sources) heredocs += in.FindHeredoc(src) != nullptr ? 1 : 0;
  if (heredocs > 0) {
    if (heredocs != sources.size() || from_tree) {
      return LineError(
          in, absl::UnimplementedError("heredocs mixed with other sources are not supported"));
    }
    local_tree = absl::StrCat(params_.work_dir, "/h", ++counter_);
    local_name = "heredocs";
    RETURN_IF_ERROR(sys::MkdirAll(local_tree, 0700));
    for (std::string& src : sources) {
      const Instruction::Heredoc* h = in.FindHeredoc(src);
      std::string content = h->content;
      if (h->expand) {
        // Variables only: quotes and backslashes in the text stay as they are.
        std::string escaped;
        for (char c : content) {
          if (c == '\\' || c == '"' || c == '\'') escaped += '\\';
          escaped += c;
        }
        absl::StatusOr<std::string> v = ExpandWord(escaped, MapLookup(Vars(s)), '\\');
        if (!v.ok()) return LineError(in, v.status());
        content = *v;
      }
      if (h->name.find('/') != std::string::npos || h->name == "." || h->name == "..") {
        return LineError(in, absl::InvalidArgumentError(absl::StrCat("heredoc name \"", h->name,
                                                                     "\" is not a file name")));
      }
      RETURN_IF_ERROR(sys::WriteFileAtomic(path::Join(local_tree, h->name), content, 0644,
                                           sys::Durability::kVolatile));
      src = h->name;
    }
  }
  if (from_tree) {
    if (add) return LineError(in, absl::InvalidArgumentError("ADD has no --from (use COPY)"));
    if (absl::optional<int> ref = StageRef(plan_, from, s.index, true); ref.has_value()) {
      from_chain = built_.at(*ref).chain;
    } else {
      absl::StatusOr<::berth::services::images::v1::Image> image = backend_.GetImage(from);
      if (!image.ok()) {
        return LineError(
            in, absl::NotFoundError(absl::StrCat("--from=", from, ": no such stage, and no image ",
                                                 images::Normalize(from).value_or(from),
                                                 " here (berth build does not pull)")));
      }
      absl::StatusOr<std::string> chain = backend_.Unpack(image->name());
      if (!chain.ok()) return LineError(in, chain.status());
      from_chain = *chain;
    }
    opts.keep_owner = true;
    key_extra = absl::StrCat("from ", from_chain);
  } else {
    UniqueFd ctx(::open(local_tree.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!ctx.valid()) return ErrnoStatus(absl::StrCat("open(", local_tree, ")"), errno);
    std::vector<std::string> matched;
    for (const std::string& src : sources) {
      absl::StatusOr<std::vector<std::string>> m = MatchSources(ctx.get(), src, local_name);
      if (!m.ok()) return LineError(in, m.status());
      matched.insert(matched.end(), m->begin(), m->end());
    }
    absl::StatusOr<std::string> hash = HashSources(ctx.get(), matched);
    if (!hash.ok()) return LineError(in, hash.status());
    key_extra = absl::StrCat(local_name, " ", *hash);
  }
  const std::string created_by =
      absl::StrCat(in.keyword, " ", shown_flags, shown_sources, " ", dest_arg);
  auto work = [&](const Mounts& mounts, const std::string&) -> absl::Status {
    ASSIGN_OR_RETURN(std::unique_ptr<Mounted> dst, Mounted::Mount(mounts, MountDir()));
    if (!chown.empty()) {
      absl::StatusOr<Owner> o = ResolveChown(chown, dst->path());
      if (!o.ok()) return LineError(in, Annotate(o.status(), absl::StrCat("--chown=", chown)));
      opts.chown = *o;
    }
    std::unique_ptr<Mounted> view_mount;
    std::string view;
    absl::Cleanup drop_view = [&] {
      view_mount.reset();
      if (!view.empty()) backend_.Remove(view).IgnoreError();
    };
    UniqueFd src_root;
    std::vector<std::string> paths;
    if (from_tree) {
      std::string tree = absl::StrCat(params_.work_dir, "/empty");
      if (!from_chain.empty()) {
        view = NewKey("from");
        ASSIGN_OR_RETURN(Mounts vm, backend_.View(view, from_chain));
        ASSIGN_OR_RETURN(view_mount, Mounted::Mount(vm, MountDir()));
        tree = view_mount->path();
      } else {
        RETURN_IF_ERROR(sys::MkdirAll(tree, 0700));
      }
      src_root = UniqueFd(::open(tree.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      for (const std::string& src : sources) {
        absl::StatusOr<std::vector<std::string>> m =
            MatchSources(src_root.get(), src, absl::StrCat("stage or image \"", from, "\""));
        if (!m.ok()) return LineError(in, m.status());
        paths.insert(paths.end(), m->begin(), m->end());
      }
    } else {
      src_root = UniqueFd(::open(local_tree.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      for (const std::string& src : sources) {
        ASSIGN_OR_RETURN(std::vector<std::string> m, MatchSources(src_root.get(), src, local_name));
        paths.insert(paths.end(), m.begin(), m.end());
      }
    }
    if (!src_root.valid()) return ErrnoStatus("open the source tree", errno);
    absl::Status st = CopyInto(src_root.get(), paths, dst->fd(), dest, opts);
    if (!st.ok()) return LineError(in, st);
    return absl::OkStatus();
  };
  return FsStep(s, step, created_by, key_extra, work);
}

}  // namespace berth::build
