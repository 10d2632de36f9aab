#include "services/images/registry/curl_api.h"

#include <dlfcn.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace berth::registry {
namespace {

constexpr char kLibcurl[] = "libcurl.so.4";

absl::Status Missing(const char* what) {
  const char* err = dlerror();
  return absl::FailedPreconditionError(absl::StrCat(
      "registry access needs libcurl (Debian package libcurl4): ", err != nullptr ? err : what));
}

template <typename Fn>
bool Resolve(void* lib, const char* name, Fn* fn) {
  *fn = reinterpret_cast<Fn>(dlsym(lib, name));
  return *fn != nullptr;
}

absl::StatusOr<const CurlApi*> LoadAndInit() {
  absl::StatusOr<CurlApi> api = LoadCurlApi(kLibcurl);
  if (!api.ok()) return api.status();
  // Before the first easy handle, and once: it is not thread-safe, and this runs once.
  const CURLcode code = api->global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) {
    return absl::FailedPreconditionError(
        absl::StrCat("curl_global_init: ", api->easy_strerror(code)));
  }
  // Never freed: the library stays loaded for the life of the process.
  return new CurlApi(*api);
}

}  // namespace

absl::StatusOr<CurlApi> LoadCurlApi(const std::string& library) {
  dlerror();  // clear a stale error
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return Missing(library.c_str());
  CurlApi api;
  const bool ok = Resolve(lib, "curl_global_init", &api.global_init) &&
                  Resolve(lib, "curl_easy_init", &api.easy_init) &&
                  Resolve(lib, "curl_easy_cleanup", &api.easy_cleanup) &&
                  Resolve(lib, "curl_easy_setopt", &api.easy_setopt) &&
                  Resolve(lib, "curl_easy_getinfo", &api.easy_getinfo) &&
                  Resolve(lib, "curl_easy_perform", &api.easy_perform) &&
                  Resolve(lib, "curl_easy_strerror", &api.easy_strerror) &&
                  Resolve(lib, "curl_slist_append", &api.slist_append) &&
                  Resolve(lib, "curl_slist_free_all", &api.slist_free_all);
  if (!ok) {
    absl::Status st = Missing(library.c_str());
    dlclose(lib);
    return st;
  }
  return api;
}

absl::StatusOr<const CurlApi*> Curl() {
  // A function-local static: initialised once, thread-safely, on the first call.
  static const absl::StatusOr<const CurlApi*> api = LoadAndInit();
  return api;
}

}  // namespace berth::registry
