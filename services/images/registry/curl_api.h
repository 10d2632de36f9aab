// libcurl, loaded with dlopen on first use instead of linked: it brings ~24 shared libraries
// (gnutls, krb5, ldap, ssh2, ...) that cost an idle berthd ~3.5 MB of RSS and start-up time,
// for the registry client alone. Only this file names the library.
#ifndef BERTH_SERVICES_IMAGES_REGISTRY_CURL_API_H_
#define BERTH_SERVICES_IMAGES_REGISTRY_CURL_API_H_

#include <curl/curl.h>

#include <string>

#include "absl/status/statusor.h"

namespace berth::registry {

// The libcurl functions the registry client calls, typed by curl.h's own declarations.
// curl_easy_setopt and curl_easy_getinfo are varargs: curl.h's GCC type checks (macros) do
// not apply through these pointers, so callers must pass a long, a curl_off_t or a pointer
// exactly as each option expects.
struct CurlApi {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
};

// The process's libcurl ("libcurl.so.4"): loaded, resolved and curl_global_init'ed by the
// first call, from any thread; later calls return the same answer. FAILED_PRECONDITION
// naming the Debian package and dlerror() when the library or a symbol is missing.
absl::StatusOr<const CurlApi*> Curl();

// Loads `library` and resolves every function (no curl_global_init): Curl()'s work, with the
// library name open for tests. The library stays loaded on success; on error it is closed.
absl::StatusOr<CurlApi> LoadCurlApi(const std::string& library);

}  // namespace berth::registry

#endif  // BERTH_SERVICES_IMAGES_REGISTRY_CURL_API_H_
