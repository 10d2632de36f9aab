// One build: a parsed Dockerfile run stage by stage against a received context, through the
// other services (backend.h). Each filesystem step (RUN, COPY, ADD, WORKDIR) prepares an
// active snapshot on the stage's top layer, changes it (a container for RUN, the daemon's
// own writes through a mount for the others), has the diff service make the layer blob, and
// commits the snapshot under the chain ID; metadata steps change the config only. Every step
// first looks in the build cache (cache.h). The target stage becomes an image: config and
// manifest written to the content store and named.
//
// Whatever happens, the build leaves no active snapshot, view, container, task or mount
// behind; committed layers stay (they are the cache, as Docker keeps its own).
#ifndef BERTH_SERVICES_BUILD_BUILDER_H_
#define BERTH_SERVICES_BUILD_BUILDER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "berth/services/build/v1/build.pb.h"
#include "services/build/backend.h"
#include "services/build/cache.h"
#include "services/build/dockerfile.h"
#include "services/build/image_config.h"
#include "services/build/stages.h"

namespace berth::build {

struct BuildParams {
  ::berth::services::build::v1::BuildOptions options;
  std::string dockerfile_name = "Dockerfile";
  std::string context_dir;                // the received context
  std::string work_dir;                   // this build's own directory: mount points go there
  std::string build_id;                   // names its temporary snapshots and containers
  std::string runtime = "berth-runtime";  // what RUN containers run with
};

struct BuildResult {
  std::vector<std::string> names;
  std::string config_digest;
  ::berth::types::v1::Descriptor manifest;
};

using Emit = std::function<void(const ::berth::services::build::v1::BuildResponse&)>;

class Builder {
 public:
  Builder(Backend& backend, BuildCache& cache, BuildParams params, Emit emit,
          std::function<bool()> cancelled);
  absl::StatusOr<BuildResult> Run(const Dockerfile& df);

 private:
  struct Layer {
    ::berth::types::v1::Descriptor desc;
    std::string diff_id;
  };
  struct StageState {
    int index = 0;
    std::string chain;  // the top committed snapshot; "" for none
    std::vector<Layer> layers;
    Json doc;                                 // the image config document
    std::map<std::string, std::string> args;  // the stage's ARGs that have values
    std::string key;                          // cache key so far
    bool cmd_set = false;                     // CMD given in this stage
  };
  // Changes a step makes to a prepared snapshot, mounted by the caller or not.
  using FsWork = std::function<absl::Status(const Mounts& mounts, const std::string& key)>;

  absl::Status BuildStage(const Stage& stage, int* step);
  absl::Status From(const Stage& stage, StageState& s);
  absl::Status Dispatch(StageState& s, const Instruction& in, int step);
  absl::Status Metadata(StageState& s, const Instruction& in, int step);
  absl::Status Arg(StageState& s, const Instruction& in, int step);
  absl::Status Run(StageState& s, const Instruction& in, int step);
  absl::Status Copy(StageState& s, const Instruction& in, int step);
  absl::Status Workdir(StageState& s, const Instruction& in, int step);
  absl::StatusOr<BuildResult> Export(StageState& s);

  // A step that changes the config only: `apply` it, record history (unless `history` is
  // false) with a time from the cache when the step is cached.
  absl::Status MetaStep(StageState& s, int step, const std::string& created_by, bool history,
                        const std::function<absl::Status(Json& cfg)>& apply);
  // A step that may change files: from the cache, or by running `work`.
  absl::Status FsStep(StageState& s, int step, const std::string& created_by,
                      const std::string& key_extra, const FsWork& work);

  absl::StatusOr<std::string> Expand(const StageState& s, const std::string& word,
                                     const Instruction& in);
  std::map<std::string, std::string> Vars(const StageState& s) const;
  absl::Status LineError(const Instruction& in, const absl::Status& st) const;
  std::string NewKey(const std::string& what);
  std::string MountDir();
  std::string StageName(const Stage& stage) const;
  void Done(int step, bool cached, const Layer* layer, absl::Time started);

  Backend& backend_;
  BuildCache& cache_;
  BuildParams params_;
  Emit emit_;
  std::function<bool()> cancelled_;
  char escape_ = '\\';
  Plan plan_;
  std::map<std::string, std::string> global_args_;
  std::map<int, StageState> built_;
  std::map<std::string, bool> consumed_args_;
  std::string lease_;
  int total_ = 0;
  bool multi_stage_ = false;
  int counter_ = 0;
};

// A step's cache key: the previous step's key, the instruction as it ran, and whatever else
// decides its result (the content of COPY sources).
std::string StepKey(const std::string& prev, const std::string& text,
                    const std::string& extra = "");

// The chain ID of a layer on `parent` (containerd's: sha256 of "parent diff_id").
std::string ChainId(const std::string& parent, const std::string& diff_id);

}  // namespace berth::build

#endif  // BERTH_SERVICES_BUILD_BUILDER_H_
