// Where the build service keeps its files.
//
//   <root>/build/
//     cache.db                 the build cache (cache.h)
//     tmp/<build id>/          one build in progress; removed when it ends
//       context/               the received build context
//       m<n>/                  mount points of snapshots the build writes or reads
//       h<n>/                  the files a COPY or ADD of heredocs copies
//       empty/                 the empty tree COPY --from a scratch stage reads
//
// A tmp/<id> left by a daemon that died mid-build is removed when the service starts (its
// mounts detached first).
#ifndef BERTH_SERVICES_BUILD_PATHS_H_
#define BERTH_SERVICES_BUILD_PATHS_H_

#include <string>

namespace berth::build {

inline std::string BuildDir(const std::string& root) { return root + "/build"; }
inline std::string CachePath(const std::string& root) { return BuildDir(root) + "/cache.db"; }
inline std::string TmpDir(const std::string& root) { return BuildDir(root) + "/tmp"; }
inline std::string WorkDir(const std::string& root, const std::string& id) {
  return TmpDir(root) + "/" + id;
}
inline std::string ContextDir(const std::string& work) { return work + "/context"; }

}  // namespace berth::build

#endif  // BERTH_SERVICES_BUILD_PATHS_H_
