// berth-runtime's config.json parser (runtime/spec.h), and the process and resources documents
// it also reads (`exec --process`, `update --resources`). A bundle's config.json is written by
// whoever runs the runtime, and its parser is where every field is checked before setup code
// trusts it.
#include <string>

#include "fuzz/fuzz_target.h"
#include "runtime/spec.h"

BERTH_FUZZ_TARGET(FuzzRuntimeSpec) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  (void)berth::runtime::ParseSpec(json);
  (void)berth::runtime::ParseProcess(json);
  (void)berth::runtime::ParseResources(json);
  return 0;
}
