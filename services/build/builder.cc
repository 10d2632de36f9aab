#include "services/build/builder.h"

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/digest.h"
#include "common/signal.h"
#include "common/status_macros.h"
#include "services/build/shell_lex.h"
#include "services/images/oci.h"
#include "services/images/reference.h"

namespace berth::build {
namespace {

namespace bpb = ::berth::services::build::v1;
namespace tpb = ::berth::types::v1;

constexpr int64_t kMaxDocument = 4 << 20;

std::string JsonArray(const std::vector<std::string>& v) { return Json(v).dump(); }

}  // namespace

std::string StepKey(const std::string& prev, const std::string& text, const std::string& extra) {
  return Sha256Of(absl::StrCat(prev, "\n", text, "\n", extra)).ToString();
}

std::string ChainId(const std::string& parent, const std::string& diff_id) {
  if (parent.empty()) return diff_id;
  return Sha256Of(absl::StrCat(parent, " ", diff_id)).ToString();
}

Builder::Builder(Backend& backend, BuildCache& cache, BuildParams params, Emit emit,
                 std::function<bool()> cancelled)
    : backend_(backend),
      cache_(cache),
      params_(std::move(params)),
      emit_(std::move(emit)),
      cancelled_(std::move(cancelled)) {}

absl::Status Builder::LineError(const Instruction& in, const absl::Status& st) const {
  std::string what = in.original;
  if (what.size() > 80) what = what.substr(0, 77) + "...";
  return absl::Status(st.code(), absl::StrCat(params_.dockerfile_name, ":", in.line, ": ", what,
                                              ": ", st.message()));
}

std::string Builder::NewKey(const std::string& what) {
  return absl::StrCat("build-", params_.build_id, "-", ++counter_, "-", what);
}

std::string Builder::MountDir() { return absl::StrCat(params_.work_dir, "/m", ++counter_); }

std::map<std::string, std::string> Builder::Vars(const StageState& s) const {
  // ENV wins over an ARG of the same name.
  std::map<std::string, std::string> vars = s.args;
  for (const auto& [k, v] : EnvMap(s.doc.value("config", Json::object()))) vars[k] = v;
  return vars;
}

absl::StatusOr<std::string> Builder::Expand(const StageState& s, const std::string& word,
                                            const Instruction& in) {
  const std::map<std::string, std::string> vars = Vars(s);
  absl::StatusOr<std::string> out = ExpandWord(word, MapLookup(vars), escape_);
  if (!out.ok()) return LineError(in, out.status());
  return out;
}

void Builder::Done(int step, bool cached, const Layer* layer, absl::Time started) {
  bpb::BuildResponse r;
  bpb::StepDone* d = r.mutable_step_done();
  d->set_index(step);
  d->set_cached(cached);
  if (layer != nullptr) {
    d->set_layer(layer->desc.digest());
    d->set_layer_size(layer->desc.size());
  }
  d->set_duration_ms(absl::ToInt64Milliseconds(absl::Now() - started));
  emit_(r);
}

absl::StatusOr<BuildResult> Builder::Run(const Dockerfile& df) {
  const std::string& name = params_.dockerfile_name;
  escape_ = df.escape;
  for (const std::string& w : df.warnings) {
    bpb::BuildResponse r;
    r.set_warning(w);
    emit_(r);
  }
  ASSIGN_OR_RETURN(plan_, MakePlan(df, name));
  // The platform args BuildKit predefines, then the Dockerfile's global ARGs.
  const images::Platform host = images::HostPlatform();
  std::map<std::string, std::string> build_args(params_.options.build_args().begin(),
                                                params_.options.build_args().end());
  ASSIGN_OR_RETURN(global_args_, GlobalArgs(plan_, build_args, escape_, name));
  for (const char* prefix : {"TARGET", "BUILD"}) {
    global_args_.try_emplace(absl::StrCat(prefix, "PLATFORM"), host.String());
    global_args_.try_emplace(absl::StrCat(prefix, "OS"), host.os);
    global_args_.try_emplace(absl::StrCat(prefix, "ARCH"), host.architecture);
    global_args_.try_emplace(absl::StrCat(prefix, "VARIANT"), host.variant);
  }
  for (const Instruction& in : plan_.global_args) {
    for (const std::string& w : in.args) consumed_args_[w.substr(0, w.find('='))] = true;
  }
  ASSIGN_OR_RETURN(int target, FindTarget(plan_, params_.options.target()));
  ASSIGN_OR_RETURN(std::vector<int> stages,
                   NeededStages(plan_, target, global_args_, escape_, name));
  for (int i : stages) total_ += 1 + static_cast<int>(plan_.stages[i].steps.size());
  multi_stage_ = stages.size() > 1;

  // Everything written during the build is held by its lease until the image is named.
  lease_ = absl::StrCat("berth.build-", params_.build_id);
  RETURN_IF_ERROR(backend_.CreateLease(lease_, absl::Hours(24)));
  RETURN_IF_ERROR(backend_.CreateLease(kCacheLease, absl::InfiniteDuration()));
  backend_.set_lease(lease_);
  absl::Cleanup drop_lease = [&] {
    backend_.set_lease("");
    backend_.DeleteLease(lease_).IgnoreError();
  };

  int step = 0;
  for (int i : stages) RETURN_IF_ERROR(BuildStage(plan_.stages[i], &step));
  for (const auto& [k, v] : build_args) {
    if (!consumed_args_.count(k)) {
      bpb::BuildResponse r;
      r.set_warning(absl::StrCat("one or more build-args [", k, "] were not consumed"));
      emit_(r);
    }
  }
  return Export(built_.at(target));
}

std::string Builder::StageName(const Stage& stage) const {
  // As BuildKit shows them: the name, or "stage-N" when several stages are built.
  if (!stage.name.empty()) return stage.name;
  return multi_stage_ ? absl::StrCat("stage-", stage.index) : "";
}

absl::Status Builder::BuildStage(const Stage& stage, int* step) {
  StageState s;
  s.index = stage.index;
  const absl::Time started = absl::Now();
  {
    bpb::BuildResponse r;
    bpb::Step* st = r.mutable_step();
    st->set_index(++*step);
    st->set_total(total_);
    st->set_instruction(stage.from.original);
    st->set_line(stage.from.line);
    st->set_stage(StageName(stage));
    emit_(r);
  }
  RETURN_IF_ERROR(From(stage, s));
  Done(*step, false, nullptr, started);
  // ONBUILD triggers of the base image run first, then are dropped from the config.
  std::vector<std::string> triggers = StringList(RunConfig(s.doc), "OnBuild");
  RunConfig(s.doc).erase("OnBuild");
  for (const std::string& t : triggers) {
    absl::StatusOr<Instruction> in =
        ParseInstruction(t, stage.from.line, escape_, params_.dockerfile_name);
    if (!in.ok()) return Annotate(in.status(), "ONBUILD trigger of the base image");
    bpb::BuildResponse r;
    r.mutable_step()->set_index(*step);
    r.mutable_step()->set_total(total_);
    r.mutable_step()->set_instruction(absl::StrCat("ONBUILD ", in->original));
    r.mutable_step()->set_line(stage.from.line);
    r.mutable_step()->set_stage(StageName(stage));
    emit_(r);
    RETURN_IF_ERROR(Dispatch(s, *in, *step));
  }
  for (const Instruction& in : stage.steps) {
    if (cancelled_()) return absl::CancelledError("the build was cancelled");
    bpb::BuildResponse r;
    bpb::Step* st = r.mutable_step();
    st->set_index(++*step);
    st->set_total(total_);
    st->set_instruction(in.original);
    st->set_line(in.line);
    st->set_stage(StageName(stage));
    emit_(r);
    RETURN_IF_ERROR(Dispatch(s, in, *step));
  }
  built_[stage.index] = std::move(s);
  return absl::OkStatus();
}

absl::Status Builder::From(const Stage& stage, StageState& s) {
  const Instruction& in = stage.from;
  absl::StatusOr<std::string> base = ExpandWord(stage.base, MapLookup(global_args_), escape_);
  if (!base.ok()) return LineError(in, base.status());
  if (const Instruction::Flag* f = in.FindFlag("platform"); f != nullptr) {
    absl::StatusOr<std::string> p = ExpandWord(f->value, MapLookup(global_args_), escape_);
    if (!p.ok()) return LineError(in, p.status());
    const images::Platform host = images::HostPlatform();
    if (*p != host.String() && *p != host.os + "/" + host.architecture) {
      return LineError(in, absl::InvalidArgumentError(absl::StrCat(
                               "--platform=", *p, ": berth builds for this machine's platform (",
                               host.String(), ") only")));
    }
  }
  if (absl::optional<int> ref = StageRef(plan_, *base, stage.index, false); ref.has_value()) {
    const StageState& from = built_.at(*ref);
    s.chain = from.chain;
    s.layers = from.layers;
    s.doc = from.doc;
    s.key = StepKey(from.key, "FROM stage");
    return absl::OkStatus();
  }
  const images::Platform host = images::HostPlatform();
  if (absl::AsciiStrToLower(*base) == "scratch") {
    s.doc = ScratchConfig(host.os, host.architecture);
    s.key = StepKey("", absl::StrCat("FROM scratch ", host.String()));
    return absl::OkStatus();
  }
  absl::StatusOr<::berth::services::images::v1::Image> image = backend_.GetImage(*base);
  if (absl::IsNotFound(image.status())) {
    const std::string full = images::Normalize(*base).value_or(*base);
    return LineError(
        in, absl::NotFoundError(absl::StrCat(
                "no image ", full, " here (berth build does not pull: load or pull it first)")));
  }
  if (!image.ok()) return LineError(in, image.status());
  // The manifest for this platform, its config, and the layers as snapshots.
  images::Descriptor target{.media_type = image->target().media_type(),
                            .digest = image->target().digest(),
                            .size = image->target().size()};
  if (images::KindOf(target.media_type) == images::Kind::kIndex) {
    ASSIGN_OR_RETURN(std::string text, backend_.ReadBlob(target.digest, kMaxDocument));
    ASSIGN_OR_RETURN(images::Index index, images::ParseIndex(text, target.digest));
    bool found = false;
    for (const images::Descriptor& d : index.manifests) {
      if (d.platform.has_value() && images::PlatformMatches(host, *d.platform)) {
        target = d;
        found = true;
        break;
      }
    }
    if (!found) {
      return LineError(in, absl::FailedPreconditionError(absl::StrCat(
                               image->name(), " has no manifest for ", host.String())));
    }
  }
  ASSIGN_OR_RETURN(std::string mtext, backend_.ReadBlob(target.digest, kMaxDocument));
  ASSIGN_OR_RETURN(images::Manifest manifest, images::ParseManifest(mtext, target.digest));
  ASSIGN_OR_RETURN(std::string ctext, backend_.ReadBlob(manifest.config.digest, kMaxDocument));
  Json config = Json::parse(ctext, nullptr, false);
  if (!config.is_object()) {
    return LineError(in, absl::InvalidArgumentError(absl::StrCat("the config of ", image->name(),
                                                                 " is not a JSON object")));
  }
  s.doc = ConfigFromBase(std::move(config));
  const std::vector<std::string> diff_ids = DiffIds(s.doc);
  if (diff_ids.size() != manifest.layers.size()) {
    return LineError(in, absl::InvalidArgumentError(
                             absl::StrCat(image->name(), ": its config lists ", diff_ids.size(),
                                          " layers but its manifest ", manifest.layers.size())));
  }
  for (size_t i = 0; i < diff_ids.size(); ++i) {
    const images::Descriptor& d = manifest.layers[i];
    Layer l;
    l.desc.set_media_type(d.media_type);
    l.desc.set_digest(d.digest);
    l.desc.set_size(d.size);
    l.desc.mutable_annotations()->insert(d.annotations.begin(), d.annotations.end());
    l.diff_id = diff_ids[i];
    s.layers.push_back(std::move(l));
  }
  absl::StatusOr<std::string> chain = backend_.Unpack(image->name());
  if (!chain.ok()) return LineError(in, chain.status());
  s.chain = *chain;
  s.key = StepKey("", absl::StrCat("FROM ", target.digest));
  return absl::OkStatus();
}

absl::Status Builder::Dispatch(StageState& s, const Instruction& in, int step) {
  const std::string& k = in.keyword;
  if (k == "RUN") return Run(s, in, step);
  if (k == "COPY" || k == "ADD") return Copy(s, in, step);
  if (k == "WORKDIR") return Workdir(s, in, step);
  if (k == "ARG") return Arg(s, in, step);
  if (k == "FROM") return LineError(in, absl::InvalidArgumentError("FROM in the wrong place"));
  return Metadata(s, in, step);
}

absl::Status Builder::Arg(StageState& s, const Instruction& in, int step) {
  const std::map<std::string, std::string>& given = {params_.options.build_args().begin(),
                                                     params_.options.build_args().end()};
  std::vector<std::string> resolved;
  for (const std::string& w : in.args) {
    const size_t eq = w.find('=');
    const std::string key = w.substr(0, eq);
    if (key.empty()) return LineError(in, absl::InvalidArgumentError("ARG names can not be blank"));
    consumed_args_[key] = true;
    absl::optional<std::string> value;
    if (auto it = given.find(key); it != given.end()) {
      value = it->second;
    } else if (eq != std::string::npos) {
      ASSIGN_OR_RETURN(value, Expand(s, w.substr(eq + 1), in));
    } else if (auto g = global_args_.find(key); g != global_args_.end()) {
      value = g->second;
    }
    if (value.has_value()) {
      s.args[key] = *value;
      resolved.push_back(absl::StrCat(key, "=", *value));
    } else {
      s.args.erase(key);
      resolved.push_back(key);
    }
  }
  // No history, as BuildKit; the values are part of every later step's key.
  return MetaStep(s, step, absl::StrCat("ARG ", absl::StrJoin(resolved, " ")), false,
                  [](Json&) { return absl::OkStatus(); });
}

absl::Status Builder::Metadata(StageState& s, const Instruction& in, int step) {
  const std::string& k = in.keyword;
  Json& cfg = RunConfig(s.doc);
  // Substitution uses the values from before this instruction, for every pair in it.
  auto expand = [&](const std::string& w) { return Expand(s, w, in); };
  auto command = [&](const char* field) -> std::vector<std::string> {
    if (in.json) return in.args;
    std::vector<std::string> shell = StringList(cfg, "Shell");
    if (shell.empty()) shell = {"/bin/sh", "-c"};
    if (in.args.empty()) return {};
    shell.push_back(in.args[0]);
    (void)field;
    return shell;
  };
  if (k == "ENV" || k == "LABEL") {
    std::vector<std::pair<std::string, std::string>> pairs;
    std::vector<std::string> shown;
    for (size_t i = 0; i + 1 < in.args.size(); i += 2) {
      ASSIGN_OR_RETURN(std::string key, expand(in.args[i]));
      ASSIGN_OR_RETURN(std::string value, expand(in.args[i + 1]));
      if (key.empty())
        return LineError(in, absl::InvalidArgumentError(k + " names can not be blank"));
      pairs.emplace_back(key, value);
      shown.push_back(absl::StrCat(key, "=", value));
    }
    return MetaStep(s, step, absl::StrCat(k, " ", absl::StrJoin(shown, " ")), true, [&](Json& c) {
      for (const auto& [key, value] : pairs) {
        if (k == "ENV") {
          SetEnv(c, key, value);
        } else {
          if (!c.contains("Labels") || !c["Labels"].is_object()) {
            c["Labels"] = Json::object();
          }
          c["Labels"][key] = value;
        }
      }
      return absl::OkStatus();
    });
  }
  if (k == "CMD" || k == "ENTRYPOINT") {
    const std::vector<std::string> cmd = command(k.c_str());
    const std::string field = k == "CMD" ? "Cmd" : "Entrypoint";
    const bool reset_cmd = k == "ENTRYPOINT" && !s.cmd_set;
    if (k == "CMD") s.cmd_set = true;
    return MetaStep(s, step, absl::StrCat(k, " ", JsonArray(cmd)), true, [&](Json& c) {
      c[field] = cmd;
      // An ENTRYPOINT drops a CMD inherited from the base image, as Docker does.
      if (reset_cmd) c.erase("Cmd");
      return absl::OkStatus();
    });
  }
  if (k == "SHELL") {
    return MetaStep(s, step, absl::StrCat("SHELL ", JsonArray(in.args)), true, [&](Json& c) {
      c["Shell"] = in.args;
      return absl::OkStatus();
    });
  }
  if (k == "EXPOSE") {
    std::vector<std::string> ports;
    for (const std::string& w : in.args) {
      absl::StatusOr<std::vector<std::string>> words = ExpandWords(w, MapLookup(Vars(s)), escape_);
      if (!words.ok()) return LineError(in, words.status());
      for (const std::string& p : *words) {
        absl::StatusOr<std::vector<std::string>> parsed = ParsePorts(p);
        if (!parsed.ok()) return LineError(in, parsed.status());
        ports.insert(ports.end(), parsed->begin(), parsed->end());
      }
    }
    return MetaStep(s, step, absl::StrCat("EXPOSE ", absl::StrJoin(ports, " ")), true,
                    [&](Json& c) {
                      if (!c.contains("ExposedPorts") || !c["ExposedPorts"].is_object()) {
                        c["ExposedPorts"] = Json::object();
                      }
                      for (const std::string& p : ports) c["ExposedPorts"][p] = Json::object();
                      return absl::OkStatus();
                    });
  }
  if (k == "VOLUME") {
    std::vector<std::string> vols;
    for (const std::string& w : in.args) {
      ASSIGN_OR_RETURN(std::string v, expand(w));
      if (absl::StripAsciiWhitespace(v).empty()) {
        return LineError(in,
                         absl::InvalidArgumentError("VOLUME specified can not be an empty string"));
      }
      vols.push_back(v);
    }
    return MetaStep(s, step, absl::StrCat("VOLUME ", JsonArray(vols)), true, [&](Json& c) {
      if (!c.contains("Volumes") || !c["Volumes"].is_object()) c["Volumes"] = Json::object();
      for (const std::string& v : vols) c["Volumes"][v] = Json::object();
      return absl::OkStatus();
    });
  }
  if (k == "USER" || k == "STOPSIGNAL" || k == "MAINTAINER") {
    ASSIGN_OR_RETURN(std::string v, expand(in.args[0]));
    if (k == "STOPSIGNAL") {
      if (absl::StatusOr<int> sig = ParseSignal(v); !sig.ok()) return LineError(in, sig.status());
    }
    return MetaStep(s, step, absl::StrCat(k, " ", v), true, [&](Json& c) {
      if (k == "USER") c["User"] = v;
      if (k == "STOPSIGNAL") c["StopSignal"] = v;
      if (k == "MAINTAINER") s.doc["author"] = v;
      return absl::OkStatus();
    });
  }
  if (k == "ONBUILD") {
    return MetaStep(s, step, absl::StrCat("ONBUILD ", in.args[0]), true, [&](Json& c) {
      std::vector<std::string> triggers = StringList(c, "OnBuild");
      triggers.push_back(in.args[0]);
      c["OnBuild"] = triggers;
      return absl::OkStatus();
    });
  }
  if (k == "HEALTHCHECK") {
    Json hc = Json::object();
    if (in.args[0] == "NONE") {
      hc["Test"] = {"NONE"};
    } else {
      std::vector<std::string> rest(in.args.begin() + 1, in.args.end());
      if (in.json) {
        rest.insert(rest.begin(), "CMD");
        hc["Test"] = rest;
      } else {
        hc["Test"] = {"CMD-SHELL", rest.at(0)};
      }
      for (const Instruction::Flag& f : in.flags) {
        if (f.name == "retries") {
          int n = 0;
          if (!absl::SimpleAtoi(f.value, &n) || n < 0) {
            return LineError(in, absl::InvalidArgumentError(
                                     absl::StrCat("--retries=", f.value, ": not a number")));
          }
          hc["Retries"] = n;
          continue;
        }
        absl::StatusOr<int64_t> ns = ParseDurationNanos(f.name, f.value);
        if (!ns.ok()) return LineError(in, ns.status());
        const char* field = f.name == "interval"       ? "Interval"
                            : f.name == "timeout"      ? "Timeout"
                            : f.name == "start-period" ? "StartPeriod"
                                                       : "StartInterval";
        hc[field] = *ns;
      }
    }
    return MetaStep(s, step, absl::StrCat("HEALTHCHECK ", hc.dump()), true, [&](Json& c) {
      c["Healthcheck"] = hc;
      return absl::OkStatus();
    });
  }
  return LineError(in, absl::UnimplementedError(absl::StrCat(k, " is not supported")));
}

absl::Status Builder::MetaStep(StageState& s, int step, const std::string& created_by, bool history,
                               const std::function<absl::Status(Json& cfg)>& apply) {
  const absl::Time started = absl::Now();
  RETURN_IF_ERROR(apply(RunConfig(s.doc)));
  s.key = StepKey(s.key, created_by);
  absl::optional<CacheEntry> hit;
  if (!params_.options.no_cache()) {
    ASSIGN_OR_RETURN(hit, cache_.Get(backend_.ns(), s.key));
  }
  CacheEntry e;
  if (hit.has_value()) {
    e = *hit;
  } else {
    e.created = absl::Now();
    RETURN_IF_ERROR(cache_.Put(backend_.ns(), s.key, e));
  }
  if (history) AddHistory(s.doc, created_by, e.created, true);
  Done(step, hit.has_value(), nullptr, started);
  return absl::OkStatus();
}

absl::StatusOr<BuildResult> Builder::Export(StageState& s) {
  Json& cfg = RunConfig(s.doc);
  for (const auto& [k, v] : params_.options.labels()) {
    if (!cfg.contains("Labels") || !cfg["Labels"].is_object()) cfg["Labels"] = Json::object();
    cfg["Labels"][k] = v;
  }
  // The image's time is its newest step's, so an all-cached rebuild gives the same bytes.
  absl::optional<absl::Time> newest;
  for (const Json& h : s.doc["history"]) {
    if (!h.is_object() || !h.contains("created") || !h["created"].is_string()) continue;
    absl::optional<absl::Time> t = ParseRfc3339(h["created"].get<std::string>());
    if (t.has_value() && (!newest.has_value() || *t > *newest)) newest = t;
  }
  if (newest.has_value()) s.doc["created"] = Rfc3339(*newest);
  if (!s.doc.contains("created")) s.doc["created"] = Rfc3339(absl::Now());
  const std::string config = s.doc.dump(-1, ' ', false, Json::error_handler_t::replace);
  ASSIGN_OR_RETURN(tpb::Descriptor cdesc, backend_.WriteBlob(config, images::kOciConfig, {}));
  images::Manifest m;
  m.config = {.media_type = cdesc.media_type(), .digest = cdesc.digest(), .size = cdesc.size()};
  std::map<std::string, std::string> labels = {{"berth.io/gc.ref.content.config", cdesc.digest()}};
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const tpb::Descriptor& d = s.layers[i].desc;
    images::Descriptor l{.media_type = d.media_type(), .digest = d.digest(), .size = d.size()};
    for (const auto& [k, v] : d.annotations()) {
      if (!absl::StartsWith(k, "berth.io/")) l.annotations[k] = v;
    }
    m.layers.push_back(std::move(l));
    labels[absl::StrCat("berth.io/gc.ref.content.l.", i)] = d.digest();
  }
  const std::string manifest = images::ManifestJson(m, images::kOciManifest);
  ASSIGN_OR_RETURN(tpb::Descriptor mdesc,
                   backend_.WriteBlob(manifest, images::kOciManifest, labels));
  RETURN_IF_ERROR(backend_.AddToLease(lease_, cdesc.digest()));
  RETURN_IF_ERROR(backend_.AddToLease(lease_, mdesc.digest()));
  BuildResult result;
  result.config_digest = cdesc.digest();
  result.manifest = mdesc;
  for (const std::string& tag : params_.options.tags()) {
    ASSIGN_OR_RETURN(std::string stored, backend_.NameImage(tag, mdesc));
    result.names.push_back(stored);
  }
  if (result.names.empty()) {
    // A build without a tag makes no image record, not even a dangling one (those come only
    // from load, docs/images.md): its config and manifest are held by the cache lease.
    RETURN_IF_ERROR(backend_.AddToLease(kCacheLease, cdesc.digest()));
    RETURN_IF_ERROR(backend_.AddToLease(kCacheLease, mdesc.digest()));
  }
  return result;
}

}  // namespace berth::build
