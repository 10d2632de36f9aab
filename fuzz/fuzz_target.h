// A fuzz target is one function over bytes. Each fuzz/*_fuzzer.cc defines it with
// BERTH_FUZZ_TARGET(Name), which gives libFuzzer its entry point when built by fuzz/run.sh and
// otherwise (under Bazel, with BERTH_FUZZ_NO_MAIN) just a function that
// fuzz/regressions_test.cc replays every committed seed and crash input through.
#ifndef BERTH_FUZZ_FUZZ_TARGET_H_
#define BERTH_FUZZ_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>

#ifdef BERTH_FUZZ_NO_MAIN
#define BERTH_FUZZ_TARGET(name)               \
  namespace berth::fuzz {                     \
  int name(const uint8_t* data, size_t size); \
  }                                           \
  int berth::fuzz::name(const uint8_t* data, size_t size)
#else
#define BERTH_FUZZ_TARGET(name)                                             \
  namespace berth::fuzz {                                                   \
  int name(const uint8_t* data, size_t size);                               \
  }                                                                         \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    return berth::fuzz::name(data, size);                                   \
  }                                                                         \
  int berth::fuzz::name(const uint8_t* data, size_t size)
#endif

#endif  // BERTH_FUZZ_FUZZ_TARGET_H_
