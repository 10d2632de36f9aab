#include "services/images/walk.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/digest.h"
#include "common/status_macros.h"

namespace berth::images {
namespace {

using ::berth::content::ContentStore;

std::string Describe(const Descriptor& d) {
  return absl::StrCat(KindName(KindOf(d.media_type)), " ", d.digest);
}

class Walker {
 public:
  Walker(ContentStore& store, const std::string& ns, const WalkOptions& options, const WalkFn& fn)
      : store_(store), ns_(ns), options_(options), fn_(fn) {}

  absl::Status Visit(const Descriptor& desc, bool required, const std::string& parent) {
    const Kind kind = KindOf(desc.media_type);
    if (kind == Kind::kUnknown) {
      return absl::InvalidArgumentError(absl::StrCat("blob ", desc.digest, " (referenced by ",
                                                     parent, ") has unknown media type \"",
                                                     desc.media_type, "\""));
    }
    ASSIGN_OR_RETURN(Digest digest, Digest::Parse(desc.digest));
    absl::StatusOr<::berth::content::Info> info = store_.GetInfo(ns_, digest);
    if (absl::IsNotFound(info.status())) {
      if (!required) return absl::OkStatus();
      return absl::NotFoundError(absl::StrCat(KindName(kind), " ", desc.digest, " (referenced by ",
                                              parent, ") is missing"));
    }
    if (!info.ok()) return info.status();
    if (info->size != desc.size) {
      return absl::InvalidArgumentError(absl::StrCat(Describe(desc), " is ", info->size,
                                                     " bytes, but ", parent, " says ", desc.size));
    }
    if (!visited_.insert(desc.digest).second) return absl::OkStatus();
    const std::string self = Describe(desc);
    switch (kind) {
      case Kind::kIndex: {
        ASSIGN_OR_RETURN(std::string text, ReadDocument(store_, ns_, desc));
        ASSIGN_OR_RETURN(Index index, ParseIndex(text, self));
        RETURN_IF_ERROR(fn_(desc, index.manifests));
        bool any = false;
        std::vector<std::string> have;
        for (const Descriptor& child : index.manifests) {
          bool match = true;
          if (options_.platform.has_value() && child.platform.has_value()) {
            match = PlatformMatches(*options_.platform, *child.platform);
            have.push_back(child.platform->String());
          }
          any = any || match;
          RETURN_IF_ERROR(Visit(child, options_.platform.has_value() && match, self));
        }
        if (options_.platform.has_value() && !any) {
          return absl::FailedPreconditionError(
              absl::StrCat(self, " has no manifest for platform ", options_.platform->String(),
                           " (it has: ", absl::StrJoin(have, ", "), ")"));
        }
        return absl::OkStatus();
      }
      case Kind::kManifest: {
        ASSIGN_OR_RETURN(std::string text, ReadDocument(store_, ns_, desc));
        ASSIGN_OR_RETURN(Manifest m, ParseManifest(text, self));
        std::vector<Descriptor> children = {m.config};
        children.insert(children.end(), m.layers.begin(), m.layers.end());
        RETURN_IF_ERROR(fn_(desc, children));
        if (KindOf(m.config.media_type) != Kind::kConfig) {
          return absl::InvalidArgumentError(absl::StrCat(self, ": config ", m.config.digest,
                                                         " has unknown media type \"",
                                                         m.config.media_type, "\""));
        }
        for (const Descriptor& layer : m.layers) {
          if (KindOf(layer.media_type) != Kind::kLayer) {
            return absl::InvalidArgumentError(absl::StrCat(self, ": layer ", layer.digest,
                                                           " has unknown media type \"",
                                                           layer.media_type, "\""));
          }
        }
        for (const Descriptor& child : children) RETURN_IF_ERROR(Visit(child, true, self));
        return absl::OkStatus();
      }
      case Kind::kConfig:
        RETURN_IF_ERROR(CheckDocumentSize(desc.size, self));
        return fn_(desc, {});
      case Kind::kLayer:
      case Kind::kUnknown:
        break;
    }
    return fn_(desc, {});
  }

 private:
  ContentStore& store_;
  const std::string& ns_;
  const WalkOptions& options_;
  const WalkFn& fn_;
  std::set<std::string> visited_;
};

}  // namespace

absl::StatusOr<std::string> ReadDocument(ContentStore& store, const std::string& ns,
                                         const Descriptor& desc) {
  const std::string what = Describe(desc);
  RETURN_IF_ERROR(CheckDocumentSize(desc.size, what));
  ASSIGN_OR_RETURN(Digest digest, Digest::Parse(desc.digest));
  ASSIGN_OR_RETURN(std::unique_ptr<::berth::content::Reader> reader, store.Open(ns, digest));
  if (reader->size() != desc.size) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", reader->size(), " bytes, but its descriptor says ", desc.size));
  }
  std::string out(static_cast<size_t>(desc.size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ASSIGN_OR_RETURN(
        size_t n, reader->ReadAt(static_cast<int64_t>(done), out.data() + done, out.size() - done));
    if (n == 0) return absl::DataLossError(absl::StrCat(what, " is shorter than recorded"));
    done += n;
  }
  return out;
}

absl::Status Walk(ContentStore& store, const std::string& ns, const Descriptor& target,
                  const WalkOptions& options, const WalkFn& fn) {
  const Kind kind = KindOf(target.media_type);
  if (kind != Kind::kIndex && kind != Kind::kManifest) {
    return absl::InvalidArgumentError(absl::StrCat("image target ", target.digest,
                                                   " has media type \"", target.media_type,
                                                   "\", which is neither a manifest nor an index"));
  }
  Walker w(store, ns, options, fn);
  return w.Visit(target, true, "the image");
}

absl::StatusOr<Descriptor> ResolveManifest(ContentStore& store, const std::string& ns,
                                           const Descriptor& target, const Platform& platform) {
  if (KindOf(target.media_type) == Kind::kManifest) return target;
  if (KindOf(target.media_type) != Kind::kIndex) {
    return absl::InvalidArgumentError(absl::StrCat("image target ", target.digest,
                                                   " has media type \"", target.media_type,
                                                   "\", which is neither a manifest nor an index"));
  }
  ASSIGN_OR_RETURN(std::string text, ReadDocument(store, ns, target));
  ASSIGN_OR_RETURN(Index index, ParseIndex(text, Describe(target)));
  for (const Descriptor& child : index.manifests) {
    if (child.platform.has_value() && !PlatformMatches(platform, *child.platform)) continue;
    ASSIGN_OR_RETURN(Digest d, Digest::Parse(child.digest));
    if (!store.GetInfo(ns, d).ok()) continue;
    absl::StatusOr<Descriptor> m = ResolveManifest(store, ns, child, platform);
    if (m.ok()) return m;
  }
  return absl::NotFoundError(absl::StrCat(
      "index ", target.digest, " has no manifest present for platform ", platform.String()));
}

}  // namespace berth::images
