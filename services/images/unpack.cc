#include "services/images/unpack.h"

#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "services/images/walk.h"

namespace berth::images {
namespace {

namespace spb = ::berth::services::snapshots::v1;
namespace dpb = ::berth::services::diff::v1;

absl::StatusOr<std::vector<std::string>> DiffIds(const std::string& config_json) {
  nlohmann::json j = nlohmann::json::parse(config_json, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("rootfs") || !j["rootfs"].is_object() ||
      !j["rootfs"].contains("diff_ids") || !j["rootfs"]["diff_ids"].is_array()) {
    return absl::InvalidArgumentError("image config has no rootfs.diff_ids");
  }
  std::vector<std::string> ids;
  for (const auto& d : j["rootfs"]["diff_ids"]) {
    if (!d.is_string()) return absl::InvalidArgumentError("rootfs.diff_ids holds a non-string");
    ids.push_back(d.get<std::string>());
  }
  return ids;
}

void WithNamespace(grpc::ClientContext& ctx, const std::string& ns) {
  ctx.AddMetadata("berth-namespace", ns);
}

// Records on the layer's blob what unpacking it learnt. Only a convenience for listings, so a
// failure is no reason to fail the unpack.
void LabelLayer(::berth::content::ContentStore& store, const std::string& ns,
                const Descriptor& layer, const std::string& diff_id, const std::string& size) {
  absl::StatusOr<Digest> digest = Digest::Parse(layer.digest);
  if (!digest.ok() || size.empty()) return;
  absl::StatusOr<::berth::content::Info> info = store.GetInfo(ns, *digest);
  if (!info.ok()) return;
  auto has = [&](const char* key, const std::string& value) {
    auto it = info->labels.find(key);
    return it != info->labels.end() && it->second == value;
  };
  if (has(kContentUncompressedSizeLabel, size) && has(kContentUncompressedLabel, diff_id)) return;
  ::berth::content::Info update{.digest = digest->ToString()};
  update.labels[kContentUncompressedSizeLabel] = size;
  update.labels[kContentUncompressedLabel] = diff_id;
  store
      .Update(ns, update,
              {absl::StrCat("labels.", kContentUncompressedSizeLabel),
               absl::StrCat("labels.", kContentUncompressedLabel)})
      .IgnoreError();
}

}  // namespace

std::string ChainId(const std::string& parent_chain, const std::string& diff_id) {
  if (parent_chain.empty()) return diff_id;
  return Sha256Of(absl::StrCat(parent_chain, " ", diff_id)).ToString();
}

absl::StatusOr<UnpackResult> Unpack(::berth::content::ContentStore& store, const Descriptor& target,
                                    const UnpackOptions& options,
                                    spb::Snapshots::StubInterface& snaps,
                                    dpb::Diff::StubInterface& diff) {
  ASSIGN_OR_RETURN(Descriptor manifest_desc,
                   ResolveManifest(store, options.ns, target, options.platform));
  ASSIGN_OR_RETURN(std::string manifest_json, ReadDocument(store, options.ns, manifest_desc));
  ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(manifest_json, manifest_desc.digest));
  if (options.wait_for_blob) RETURN_IF_ERROR(options.wait_for_blob(manifest.config));
  ASSIGN_OR_RETURN(std::string config_json, ReadDocument(store, options.ns, manifest.config));
  ASSIGN_OR_RETURN(std::vector<std::string> diff_ids, DiffIds(config_json));
  if (diff_ids.size() != manifest.layers.size()) {
    return absl::InvalidArgumentError(absl::StrCat("image config lists ", diff_ids.size(),
                                                   " diff_ids but manifest ", manifest_desc.digest,
                                                   " has ", manifest.layers.size(), " layers"));
  }
  UnpackResult result;
  result.layers = static_cast<int>(diff_ids.size());
  std::vector<std::string> chains;
  for (const std::string& d : diff_ids)
    chains.push_back(ChainId(chains.empty() ? "" : chains.back(), d));
  // Stat of each layer's snapshot, asked once: layer i+1's is asked before layer i is applied,
  // to know whether the diff service should decompress it ahead.
  std::map<size_t, std::pair<grpc::Status, spb::StatSnapshotResponse>> stats;
  auto stat = [&](size_t i) -> std::pair<grpc::Status, spb::StatSnapshotResponse>& {
    auto it = stats.find(i);
    if (it != stats.end()) return it->second;
    grpc::ClientContext ctx;
    WithNamespace(ctx, options.ns);
    spb::StatSnapshotRequest req;
    req.set_snapshotter(options.snapshotter);
    req.set_key(chains[i]);
    spb::StatSnapshotResponse resp;
    grpc::Status st = snaps.Stat(&ctx, req, &resp);
    return stats.emplace(i, std::make_pair(st, std::move(resp))).first->second;
  };
  std::string parent;
  absl::BitGen gen;
  for (size_t i = 0; i < diff_ids.size(); ++i) {
    const std::string& chain = chains[i];
    {
      const auto& [st, resp] = stat(i);
      if (st.ok()) {
        // Unpacked before, maybe from another blob of the same diff_id.
        auto size = resp.info().labels().find(kSnapshotUncompressedSizeLabel);
        if (size != resp.info().labels().end()) {
          LabelLayer(store, options.ns, manifest.layers[i], diff_ids[i], size->second);
        }
        parent = chain;
        if (options.on_layer) options.on_layer(manifest.layers[i]);
        continue;
      }
      if (st.error_code() != grpc::StatusCode::NOT_FOUND) return FromGrpcStatus(st);
    }
    if (options.wait_for_blob) RETURN_IF_ERROR(options.wait_for_blob(manifest.layers[i]));
    const std::string key = absl::StrCat("extract-", absl::Uniform<uint64_t>(gen), " ", chain);
    spb::PrepareSnapshotResponse prepared;
    {
      grpc::ClientContext ctx;
      WithNamespace(ctx, options.ns);
      spb::PrepareSnapshotRequest req;
      req.set_snapshotter(options.snapshotter);
      req.set_key(key);
      req.set_parent(parent);
      RETURN_IF_ERROR(FromGrpcStatus(snaps.Prepare(&ctx, req, &prepared)));
    }
    auto remove = [&] {
      grpc::ClientContext ctx;
      WithNamespace(ctx, options.ns);
      spb::RemoveSnapshotRequest req;
      req.set_snapshotter(options.snapshotter);
      req.set_key(key);
      google::protobuf::Empty e;
      snaps.Remove(&ctx, req, &e);
    };
    absl::Status st = [&]() -> absl::Status {
      const Descriptor& layer = manifest.layers[i];
      grpc::ClientContext ctx;
      WithNamespace(ctx, options.ns);
      dpb::ApplyRequest req;
      req.mutable_diff()->set_media_type(layer.media_type);
      req.mutable_diff()->set_digest(layer.digest);
      req.mutable_diff()->set_size(layer.size);
      *req.mutable_mounts() = prepared.mounts();
      if (i + 1 < diff_ids.size() &&
          stat(i + 1).first.error_code() == grpc::StatusCode::NOT_FOUND) {
        const Descriptor& next = manifest.layers[i + 1];
        ::berth::types::v1::Descriptor* p = req.add_prefetch();
        p->set_media_type(next.media_type);
        p->set_digest(next.digest);
        p->set_size(next.size);
      }
      dpb::ApplyResponse resp;
      RETURN_IF_ERROR(FromGrpcStatus(diff.Apply(&ctx, req, &resp)));
      if (resp.applied().digest() != diff_ids[i]) {
        return absl::DataLossError(absl::StrCat("layer ", i, " (", layer.digest,
                                                ") uncompresses to ", resp.applied().digest(),
                                                ", but the image config says ", diff_ids[i]));
      }
      grpc::ClientContext cctx;
      WithNamespace(cctx, options.ns);
      spb::CommitSnapshotRequest creq;
      creq.set_snapshotter(options.snapshotter);
      creq.set_name(chain);
      creq.set_key(key);
      (*creq.mutable_labels())[kUncompressedLabel] = diff_ids[i];
      const std::string size = absl::StrCat(resp.applied().size());
      (*creq.mutable_labels())[kSnapshotUncompressedSizeLabel] = size;
      LabelLayer(store, options.ns, layer, diff_ids[i], size);
      google::protobuf::Empty e;
      grpc::Status cst = snaps.Commit(&cctx, creq, &e);
      // Another unpack of a sharing image committed it first: theirs is as good as ours.
      if (cst.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
        remove();
        return absl::OkStatus();
      }
      return FromGrpcStatus(cst);
    }();
    if (!st.ok()) {
      remove();
      return absl::Status(st.code(), absl::StrCat("unpack layer ", i + 1, "/", diff_ids.size(),
                                                  ": ", st.message()));
    }
    result.unpacked++;
    parent = chain;
    if (options.on_layer) options.on_layer(manifest.layers[i]);
  }
  result.chain_id = parent;
  return result;
}

}  // namespace berth::images
