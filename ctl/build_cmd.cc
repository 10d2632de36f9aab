// berth build: sends a build context (a directory, filtered by .dockerignore, as a tar) and a
// Dockerfile to the daemon's build service and shows the build's progress; `berth builder
// prune` drops the build cache.
//
// Progress: `plain` prints every event on its own line, BuildKit's way ("#3 [2/5] RUN …",
// the output prefixed by the step, "#3 DONE 0.4s"); `tty` keeps one line per step and shows
// only the last lines of a running step's output, all of it again if the step fails; `auto`
// (the default) is tty on a terminal. -q prints only the image ID (and a failed step's output).
#include <dirent.h>
#include <fcntl.h>
#include <re2/re2.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "berth/services/build/v1/build.grpc.pb.h"
#include "common/path.h"
#include "common/status_macros.h"
#include "common/tar_writer.h"
#include "common/unique_fd.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"
#include "ctl/image_format.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::build::v1;

constexpr size_t kChunk = 1 << 20;
constexpr size_t kKeepOutput = 1 << 20;  // of each step, to show again when it fails
constexpr int kTailLines = 6;

struct BuildFlags {
  std::vector<std::string> tags;
  std::string file;
  std::vector<std::string> build_args;
  std::vector<std::string> labels;
  std::string target;
  bool no_cache = false;
  std::string progress = "auto";
  bool quiet = false;
  std::string snapshotter;
  std::string path;
};

// --- .dockerignore, as Docker's patternmatcher reads it ---

struct IgnorePattern {
  std::unique_ptr<RE2> re;
  int dirs = 0;  // path components of the pattern
  bool exception = false;
};

std::string PatternRegex(const std::string& pattern) {
  std::string re = "^";
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '*') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '*') {
        ++i;
        if (i + 1 < pattern.size() && pattern[i + 1] == '/') ++i;
        re += i + 1 >= pattern.size() ? ".*" : "(.*/)?";
      } else {
        re += "[^/]*";
      }
    } else if (c == '?') {
      re += "[^/]";
    } else if (c == '\\' && i + 1 < pattern.size()) {
      re += RE2::QuoteMeta(std::string(1, pattern[++i]));
    } else if (c == '[' || c == ']' || c == '-' || c == '^') {
      re += c;  // character classes pass through
    } else {
      re += RE2::QuoteMeta(std::string(1, c));
    }
  }
  return re + "$";
}

class Ignore {
 public:
  absl::Status Load(const std::string& file) {
    std::ifstream in(file);
    if (!in) return absl::OkStatus();
    std::string line;
    while (std::getline(in, line)) {
      std::string p(absl::StripAsciiWhitespace(line));
      if (p.empty() || p[0] == '#') continue;
      IgnorePattern ip;
      if (p[0] == '!') {
        ip.exception = true;
        p = std::string(absl::StripAsciiWhitespace(p.substr(1)));
        has_exceptions_ = true;
      }
      while (!p.empty() && p[0] == '/') p.erase(0, 1);
      p = path::Clean(p);
      if (p == "." || p.empty()) continue;
      ip.dirs = static_cast<int>(std::count(p.begin(), p.end(), '/')) + 1;
      ip.re = std::make_unique<RE2>(PatternRegex(p));
      if (!ip.re->ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(file, ": bad pattern \"", line, "\": ", ip.re->error()));
      }
      patterns_.push_back(std::move(ip));
    }
    return absl::OkStatus();
  }
  // The last pattern that matches the path (or one of its parents) decides.
  bool Excluded(const std::string& rel) const {
    bool excluded = false;
    const std::string parent = path::Dir(rel);
    std::vector<std::string> parents;
    if (parent != ".") parents = absl::StrSplit(parent, '/');
    for (const IgnorePattern& p : patterns_) {
      bool match = RE2::FullMatch(rel, *p.re);
      if (!match && !parents.empty() && p.dirs <= static_cast<int>(parents.size())) {
        std::vector<std::string> prefix(parents.begin(), parents.begin() + p.dirs);
        match = RE2::FullMatch(absl::StrJoin(prefix, "/"), *p.re);
      }
      if (match) excluded = !p.exception;
    }
    return excluded;
  }
  bool has_exceptions() const { return has_exceptions_; }

 private:
  std::vector<IgnorePattern> patterns_;
  bool has_exceptions_ = false;
};

// --- the context as a tar, written straight into the stream ---

class ContextWriter {
 public:
  using Send = std::function<bool(const std::string&)>;
  explicit ContextWriter(Send send)
      : send_(std::move(send)), tar_([this](absl::string_view b) { return Buffer(b); }) {}

  absl::Status AddTree(const std::string& root, const Ignore& ignore) {
    return Walk(root, "", ignore);
  }

  absl::Status Finish() {
    RETURN_IF_ERROR(tar_.Finish());
    if (!buf_.empty() && !send_(buf_)) return absl::AbortedError("the daemon stopped reading");
    buf_.clear();
    return absl::OkStatus();
  }
  int64_t bytes() const { return static_cast<int64_t>(tar_.bytes()); }

 private:
  bool Buffer(absl::string_view b) {
    buf_.append(b.data(), b.size());
    if (buf_.size() < kChunk) return true;
    const bool sent = send_(buf_);
    buf_.clear();
    return sent;
  }

  absl::Status Walk(const std::string& root, const std::string& rel, const Ignore& ignore) {
    const std::string dir = rel.empty() ? root : root + "/" + rel;
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) {
      return absl::PermissionDeniedError(
          absl::StrCat("error checking context: can't open ", dir, ": ", std::strerror(errno)));
    }
    std::vector<std::string> names;
    while (struct dirent* de = readdir(d)) {
      const std::string n = de->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
      const std::string r = rel.empty() ? n : rel + "/" + n;
      struct stat st;
      if (lstat((root + "/" + r).c_str(), &st) != 0) {
        return absl::NotFoundError(
            absl::StrCat("error checking context: ", r, ": ", std::strerror(errno)));
      }
      const bool excluded = ignore.Excluded(r);
      if (excluded && !(S_ISDIR(st.st_mode) && ignore.has_exceptions())) continue;
      if (!excluded) RETURN_IF_ERROR(Entry(root, r, st));
      if (S_ISDIR(st.st_mode)) RETURN_IF_ERROR(Walk(root, r, ignore));
    }
    return absl::OkStatus();
  }

  absl::Status Entry(const std::string& root, const std::string& rel, const struct stat& st) {
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
      return absl::OkStatus();  // sockets, fifos and devices are not context
    }
    const std::string full = root + "/" + rel;
    tar::Header h{.name = rel,
                  .mode = static_cast<uint32_t>(st.st_mode & 07777),
                  .uid = st.st_uid,
                  .gid = st.st_gid,
                  .mtime = st.st_mtime};
    UniqueFd file;
    if (S_ISDIR(st.st_mode)) {
      h.type = tar::Header::Type::kDirectory;
    } else if (S_ISLNK(st.st_mode)) {
      h.type = tar::Header::Type::kSymlink;
      char target[4096];
      const ssize_t n = readlink(full.c_str(), target, sizeof(target));
      if (n < 0) {
        return absl::InternalError(absl::StrCat("readlink ", full, ": ", std::strerror(errno)));
      }
      h.link.assign(target, static_cast<size_t>(n));
    } else if (auto [it, first] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
               st.st_nlink > 1 && !first) {
      h.type = tar::Header::Type::kHardlink;
      h.link = it->second;
    } else {
      file = UniqueFd(open(full.c_str(), O_RDONLY | O_CLOEXEC));
      if (!file.valid()) {
        return absl::PermissionDeniedError(
            absl::StrCat("error checking context: can't open ", rel, ": ", std::strerror(errno)));
      }
      h.size = static_cast<uint64_t>(st.st_size);
    }
    RETURN_IF_ERROR(tar_.Add(h));
    if (!file.valid()) return absl::OkStatus();
    std::string buf(1 << 16, '\0');
    uint64_t left = h.size;
    while (left > 0) {
      const ssize_t n = read(file.get(), buf.data(), std::min<uint64_t>(left, buf.size()));
      if (n <= 0) break;  // the file shrank meanwhile: padded below
      RETURN_IF_ERROR(tar_.Write(absl::string_view(buf.data(), static_cast<size_t>(n))));
      left -= static_cast<uint64_t>(n);
    }
    std::fill(buf.begin(), buf.end(), '\0');
    while (left > 0) {
      const uint64_t n = std::min<uint64_t>(left, buf.size());
      RETURN_IF_ERROR(tar_.Write(absl::string_view(buf.data(), n)));
      left -= n;
    }
    return absl::OkStatus();
  }

  Send send_;
  std::string buf_;
  tar::Writer tar_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

// --- progress ---

class Display {
 public:
  Display(std::string mode, bool quiet) : mode_(std::move(mode)), quiet_(quiet) {
    struct winsize ws {};
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) cols_ = ws.ws_col;
  }

  void Handle(const pb::BuildResponse& r) {
    if (r.has_progress()) {
      if (!quiet_ && r.progress().status() == "done" && mode_ == "plain") {
        Out(absl::StrCat("#0 transferring context: ", HumanSize(r.progress().offset()), " done\n"));
      }
    } else if (r.has_warning()) {
      if (!quiet_) Line(absl::StrCat("WARNING: ", r.warning(), "\n"));
    } else if (r.has_step()) {
      const pb::Step& s = r.step();
      Step& st = steps_[s.index()];
      st.title = absl::StrCat("[", s.stage(), s.stage().empty() ? "" : " ", s.index(), "/",
                              s.total(), "] ", s.instruction());
      current_ = s.index();
      if (quiet_) return;
      if (mode_ == "plain") {
        Out(absl::StrCat("#", s.index(), " ", st.title, "\n"));
      } else {
        Redraw(st.title + "\n");
      }
    } else if (r.has_log()) {
      Step& st = steps_[r.log().step()];
      st.output += r.log().data();
      if (st.output.size() > kKeepOutput) st.output.erase(0, st.output.size() - kKeepOutput);
      if (quiet_) return;
      if (mode_ == "plain") {
        for (absl::string_view l : absl::StrSplit(r.log().data(), '\n', absl::SkipEmpty())) {
          Out(absl::StrCat("#", r.log().step(), " ", l, "\n"));
        }
      } else {
        Redraw(absl::StrCat(st.title, "\n", Tail(st.output)));
      }
    } else if (r.has_step_done()) {
      const pb::StepDone& d = r.step_done();
      Step& st = steps_[d.index()];
      st.done = true;
      if (quiet_) return;
      const std::string how =
          d.cached() ? "CACHED"
                     : absl::StrFormat("DONE %.1fs", static_cast<double>(d.duration_ms()) / 1000);
      if (mode_ == "plain") {
        Out(absl::StrCat("#", d.index(), " ", how, "\n"));
      } else {
        Redraw("");
        const std::string line = absl::StrCat(st.title, "  ", how);
        const size_t keep = cols_ > how.size() + 8 ? cols_ - how.size() - 6 : 0;
        Out(absl::StrCat(line.size() < cols_ ? line : st.title.substr(0, keep) + "…  " + how,
                         "\n"));
      }
    }
  }

  // After a failure: what the failing step printed, in full (unless already shown).
  void ShowFailure() {
    if (mode_ != "plain" || quiet_) Redraw("");
    auto it = steps_.find(current_);
    if (it == steps_.end() || it->second.done) return;
    if ((mode_ == "plain" && !quiet_) || it->second.output.empty()) return;
    Out(absl::StrCat("------\n", it->second.title, ":\n", it->second.output,
                     absl::EndsWith(it->second.output, "\n") ? "" : "\n", "------\n"));
  }

 private:
  struct Step {
    std::string title, output;
    bool done = false;
  };
  static std::string Tail(const std::string& out) {
    std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
    std::string s;
    const size_t from = lines.size() > kTailLines ? lines.size() - kTailLines : 0;
    for (size_t i = from; i < lines.size(); ++i)
      absl::StrAppend(&s, "  ", lines[i].substr(0, 160), "\n");
    return s;
  }
  void Out(const std::string& s) {
    std::fputs(s.c_str(), stderr);
    std::fflush(stderr);
  }
  void Line(const std::string& s) {
    if (mode_ == "tty") Redraw("");
    Out(s);
  }
  // Replaces the block drawn last (the running step and its output tail) with `block`.
  void Redraw(const std::string& block) {
    if (drawn_ == 0 && block.empty()) return;
    std::string s;
    for (int i = 0; i < drawn_; ++i) s += "\033[1A\033[2K";
    s += "\r";
    // Lines cut to the terminal's width, so that each takes one row to erase.
    drawn_ = 0;
    for (absl::string_view line : absl::StrSplit(block, '\n', absl::SkipEmpty())) {
      absl::StrAppend(&s, line.substr(0, cols_ - 1), "\n");
      ++drawn_;
    }
    Out(s);
  }

  const std::string mode_;
  const bool quiet_;
  std::map<int, Step> steps_;
  int current_ = 0;
  int drawn_ = 0;
  size_t cols_ = 80;
};

absl::StatusOr<std::map<std::string, std::string>> KeyValues(const std::vector<std::string>& in,
                                                             const char* flag, bool from_env) {
  std::map<std::string, std::string> out;
  for (const std::string& kv : in) {
    const size_t eq = kv.find('=');
    if (eq == 0) return absl::InvalidArgumentError(absl::StrCat("invalid ", flag, " \"", kv, "\""));
    if (eq == std::string::npos) {
      // --build-arg NAME takes the value from this environment, when it has one.
      const char* v = from_env ? getenv(kv.c_str()) : "";
      if (v != nullptr) out[kv] = v;
      continue;
    }
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

absl::StatusOr<std::string> ReadAll(const std::string& file) {
  if (file == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("unable to read the Dockerfile ", file, ": ", std::strerror(errno)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int RunBuild(const GlobalOptions& global, const BuildFlags& f) {
  struct stat st;
  if (f.path == "-" || stat(f.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return ReportError(absl::InvalidArgumentError(
        absl::StrCat("unable to prepare context: path \"", f.path, "\" is not a directory")));
  }
  const std::string dockerfile = f.file.empty() ? path::Join(f.path, "Dockerfile") : f.file;
  absl::StatusOr<std::string> text = ReadAll(dockerfile);
  if (!text.ok()) return ReportError(text.status());
  Ignore ignore;
  // A Dockerfile's own NAME.dockerignore wins over the context's .dockerignore (BuildKit).
  const std::string own = dockerfile + ".dockerignore";
  absl::Status ist = ignore.Load(f.file.empty() || f.file == "-" || stat(own.c_str(), &st) != 0
                                     ? path::Join(f.path, ".dockerignore")
                                     : own);
  if (!ist.ok()) return ReportError(ist);
  absl::StatusOr<std::map<std::string, std::string>> args =
      KeyValues(f.build_args, "--build-arg", true);
  if (!args.ok()) return ReportError(args.status());
  absl::StatusOr<std::map<std::string, std::string>> labels = KeyValues(f.labels, "--label", false);
  if (!labels.ok()) return ReportError(labels.status());
  std::string mode = f.progress;
  if (mode == "auto") mode = isatty(2) ? "tty" : "plain";
  if (mode != "plain" && mode != "tty") {
    return ReportError(absl::InvalidArgumentError(
        absl::StrCat("invalid --progress \"", f.progress, "\": use auto, plain or tty")));
  }

  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  auto stub = pb::Build::NewStub((*client)->channel());
  auto ctx = (*client)->Context();
  auto stream = stub->Build(ctx.get());

  pb::BuildRequest first;
  pb::BuildOptions* o = first.mutable_options();
  o->set_dockerfile(*text);
  o->set_dockerfile_name(f.file.empty() ? "Dockerfile" : path::Base(f.file));
  for (const std::string& t : f.tags) o->add_tags(t);
  o->mutable_build_args()->insert(args->begin(), args->end());
  o->mutable_labels()->insert(labels->begin(), labels->end());
  o->set_target(f.target);
  o->set_no_cache(f.no_cache);
  o->set_snapshotter(f.snapshotter);

  Display display(mode, f.quiet);
  pb::Result result;
  bool have_result = false;
  // Progress comes while the context goes up: read it on a thread of its own.
  std::thread reader([&] {
    pb::BuildResponse r;
    while (stream->Read(&r)) {
      if (r.has_result()) {
        result = r.result();
        have_result = true;
      }
      display.Handle(r);
    }
  });
  absl::Status send_error;
  if (stream->Write(first)) {
    ContextWriter w([&](const std::string& chunk) {
      pb::BuildRequest req;
      req.set_context(chunk);
      return stream->Write(req);
    });
    send_error = w.AddTree(f.path, ignore);
    if (send_error.ok()) send_error = w.Finish();
    if (absl::IsAborted(send_error)) send_error = absl::OkStatus();  // Finish says why
    if (!send_error.ok()) ctx->TryCancel();
  }
  stream->WritesDone();
  reader.join();
  grpc::Status gst = stream->Finish();
  if (!send_error.ok()) return ReportError(send_error);
  if (!gst.ok() || !have_result) {
    display.ShowFailure();
    if (gst.ok()) return ReportError(absl::InternalError("the build ended without a result"));
    // A build that fails exits 1, as docker build does; 125 only when the daemon is gone.
    const int code = ReportError(CallError(**client, gst));
    return gst.error_code() == grpc::StatusCode::UNAVAILABLE ? code : kExitError;
  }
  if (f.quiet) {
    std::printf("%s\n", result.config_digest().c_str());
    return 0;
  }
  std::printf("Successfully built %s\n", ShortId(result.config_digest(), false).c_str());
  for (const std::string& n : result.names()) {
    std::printf("Successfully tagged %s\n", FamiliarName(n).c_str());
  }
  return 0;
}

int RunPrune(const GlobalOptions& global) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(global);
  if (!client.ok()) return ReportError(client.status());
  auto stub = pb::Build::NewStub((*client)->channel());
  pb::PruneResponse resp;
  grpc::Status st = stub->Prune((*client)->Context().get(), pb::PruneRequest(), &resp);
  if (!st.ok()) return ReportError(CallError(**client, st));
  std::printf("Deleted build cache entries: %lld\n", static_cast<long long>(resp.entries()));
  return 0;
}

}  // namespace

void AddBuildCommand(CLI::App& app, Run* run) {
  auto f = std::make_shared<BuildFlags>();
  CLI::App* cmd = app.add_subcommand("build", "Build an image from a Dockerfile");
  cmd->add_option("-t,--tag", f->tags, "name and optionally a tag (NAME[:TAG]); may repeat");
  cmd->add_option("-f,--file", f->file, "the Dockerfile (default: PATH/Dockerfile; - for stdin)");
  cmd->add_option("--build-arg", f->build_args, "build-time variable KEY=VALUE; may repeat");
  cmd->add_option("--label", f->labels, "label KEY=VALUE on the image; may repeat");
  cmd->add_option("--target", f->target, "the build stage to build");
  cmd->add_flag("--no-cache", f->no_cache, "do not use the build cache");
  cmd->add_option("--progress", f->progress, "progress output: auto, plain or tty");
  cmd->add_flag("-q,--quiet", f->quiet, "print only the image ID when it succeeds");
  cmd->add_option("--snapshotter", f->snapshotter,
                  "snapshotter for the layers (default: the daemon's)");
  cmd->add_option("PATH", f->path, "the build context: a directory")->required();
  cmd->callback([run, f] { *run = [f](const GlobalOptions& g) { return RunBuild(g, *f); }; });

  CLI::App* builder = app.add_subcommand("builder", "Manage the build cache");
  builder->require_subcommand(1);
  CLI::App* prune = builder->add_subcommand("prune", "Remove the build cache");
  auto force = std::make_shared<bool>(false);
  prune->add_flag("-f,--force", *force, "do not prompt (there is no prompt)");
  prune->callback([run, force] { *run = [](const GlobalOptions& g) { return RunPrune(g); }; });
}

}  // namespace berth::ctl
