#!/usr/bin/env bash
# Builds berth's libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined) straight
# from the sources each needs, and runs each for a bounded time from its seed corpus
# (fuzz/corpus/<target>/). Fails if any target crashes, leaks or times out on an input; the
# input is left in the output directory (and named in the log) to become a regression test.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]      # default 20 s, every target
#   FUZZ_OUT=/tmp/fuzz fuzz/run.sh 600 apply           # keep the build, corpus and crashes
#
# Bazel builds berth with gcc; these are built here instead, so that the test needs nothing
# from Bazel's toolchain. //fuzz:fuzz_test runs `run.sh 20`; //fuzz:regressions_test replays
# every seed and crash input through the same targets built by Bazel.
#
# Prints, per target, the executions run: "fuzz: apply: 51234 executions in 20 s, no crash".
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
seconds=${1:-20}
shift || true

all_targets=(apply dockerfile runtime_spec manifest shim)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

# Sources per target, beside the fuzzer itself (fuzz/<target>_fuzzer.cc). fuzz/BUILD.bazel
# lists the same files (and their headers) as the test's data: keep the two in step.
declare -A sources=(
  [apply]="snapshotter/apply/apply.cc snapshotter/storage/fsutil.cc common/safe_path.cc
           common/syscall.cc common/path.cc common/unique_fd.cc common/digest.cc
           common/status_macros.cc"
  [dockerfile]="services/build/dockerfile.cc services/build/shell_lex.cc services/build/stages.cc"
  [runtime_spec]="runtime/spec.cc runtime/spec_default.cc common/path.cc common/status_macros.cc"
  [manifest]="services/images/oci.cc services/images/docker_archive.cc common/digest.cc
              common/status_macros.cc"
  [shim]="shim/console.cc shim/handlers.cc shim/io.cc shim/log_writer.cc shim/oom.cc
          shim/ports.cc shim/runtime_driver.cc shim/shim.cc common/path.cc common/syscall.cc
          common/unique_fd.cc common/status_macros.cc GEN/berth/shim/v1/shim.pb.cc"
)
declare -A libs=(
  [apply]="-larchive -lcrypto"
  [manifest]="-lcrypto"
  [shim]="-lprotobuf-lite"
)

log() { echo "fuzz: $*"; }

# clang with libFuzzer's runtime (Debian: clang and libclang-rt-14-dev; scripts/install-deps.sh
# installs both). Installed here if missing and we may; skipped, saying so, only if that fails.
have_clang() {
  command -v clang++ >/dev/null || return 1
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    clang++ -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null
}
if ! have_clang; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "clang or libFuzzer missing: installing clang libclang-rt-dev"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      clang libclang-rt-dev >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
          clang libclang-rt-dev >/dev/null 2>&1; }
  fi
  if ! have_clang; then
    log "SKIPPED: clang++ with libFuzzer (-fsanitize=fuzzer) is not available and could not be" \
      "installed (Debian packages clang and libclang-rt-dev; see scripts/install-deps.sh)"
    exit 0
  fi
fi

out=${FUZZ_OUT:-}
if [[ -z $out ]]; then
  out=$(mktemp -d "${TEST_TMPDIR:-${TMPDIR:-/tmp}}/berth-fuzz.XXXXXX")
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out/gen" "$out/obj" "$out/bin" "$out/corpus" "$out/artifacts" "$out/work"

# The shim protocol's lite messages, generated as Bazel does (bazel/proto.bzl).
if [[ " ${targets[*]} " == *" shim "* ]]; then
  protoc -I"$root/proto" -I/usr/include --cpp_out="$out/gen" \
    "$root/proto/berth/shim/v1/shim.proto" || { log "protoc failed"; exit 1; }
fi

# The same language and warnings as .bazelrc, minus -Werror (clang's set differs from gcc's).
cxxflags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined
  -fno-sanitize-recover=undefined -I"$root" -I"$out/gen" -Wno-unused-command-line-argument)
absl_libs=$(pkg-config --libs absl_statusor absl_status absl_strings absl_str_format \
  absl_cord absl_synchronization absl_time absl_hash absl_raw_hash_set absl_random_random)

obj_of() {
  echo "$out/obj/${1//\//_}.o"
}

compile() {  # source → object; objects are shared between targets
  local src=$1 path="$root/$1"
  [[ $src == GEN/* ]] && path="$out/gen/${src#GEN/}"
  clang++ "${cxxflags[@]}" -fsanitize=fuzzer-no-link -c "$path" -o "$(obj_of "$src")"
}

# Objects kept in a FUZZ_OUT are reused only while no source or header has changed.
key=$(cd "$root" && find common shim runtime services snapshotter fuzz proto \
  \( -name '*.h' -o -name '*.cc' -o -name '*.proto' \) -print0 2>/dev/null | sort -z |
  xargs -0 cat | sha256sum | cut -c1-16)
if [[ $(cat "$out/obj/key" 2>/dev/null) != "$key" ]]; then
  rm -f "$out"/obj/*.o
  echo "$key" >"$out/obj/key"
fi

# Every object the chosen targets need, compiled in parallel (the slow part: a cold build of
# all five targets is a few minutes of CPU).
declare -A wanted=()
for t in "${targets[@]}"; do
  [[ -n ${sources[$t]+x} ]] || { log "unknown target $t (targets: ${all_targets[*]})"; exit 2; }
  for src in fuzz/${t}_fuzzer.cc ${sources[$t]}; do wanted[$src]=1; done
done
jobs_max=$(nproc 2>/dev/null || echo 2)
for src in "${!wanted[@]}"; do
  [[ -f $(obj_of "$src") ]] && continue
  while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n; done
  compile "$src" || touch "$out/obj/failed" &
done
wait
[[ -f $out/obj/failed ]] && { log "compilation failed (see above)"; rm -f "$out/obj/failed"; exit 1; }

build() {
  local t=$1 objs=()
  for src in fuzz/${t}_fuzzer.cc ${sources[$t]}; do objs+=("$(obj_of "$src")"); done
  # shellcheck disable=SC2086
  clang++ "${cxxflags[@]}" -fsanitize=fuzzer "${objs[@]}" ${libs[$t]:-} $absl_libs -lpthread \
    -o "$out/bin/${t}_fuzzer"
}

failed=()
total=0
for t in "${targets[@]}"; do
  if ! build "$t"; then
    log "$t: BUILD FAILED"
    failed+=("$t")
    continue
  fi
  mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
  seeds=("$here/corpus/$t")
  [[ -d $here/regressions/$t ]] && seeds+=("$here/regressions/$t")
  dict=()
  [[ -f $here/dict/$t.dict ]] && dict=(-dict="$here/dict/$t.dict")
  # New inputs go to the first corpus directory (ours), never to the committed seeds. The
  # apply target isolates itself when root (see fuzz/apply_fuzzer.cc): it may write only to
  # the directories in BERTH_FUZZ_WRITABLE.
  logf="$out/$t.log"
  BERTH_FUZZ_WORKDIR="$out/work" BERTH_FUZZ_WRITABLE="$out/corpus/$t:$out/artifacts/$t" \
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$out/bin/${t}_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" "${dict[@]}" \
    "$out/corpus/$t" "${seeds[@]}" >"$logf" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logf" | tail -1)
  if ((rc != 0)); then
    log "$t: CRASH (exit $rc) after ${runs:-?} executions; input(s):"
    ls -1 "$out/artifacts/$t" | sed "s|^|  $out/artifacts/$t/|"
    grep -E 'ERROR|SUMMARY|runtime error|apply_fuzzer:|^    #[0-9]' "$logf" | head -40
    failed+=("$t")
  else
    log "$t: ${runs:-?} executions in $seconds s, no crash ($(ls "$out/corpus/$t" | wc -l) new corpus inputs)"
    total=$((total + ${runs:-0}))
  fi
done

if ((${#failed[@]})); then
  log "FAILED: ${failed[*]} (logs and inputs in $out; set FUZZ_OUT to keep them)"
  [[ -z ${FUZZ_OUT:-} ]] && trap - EXIT && log "kept $out"
  exit 1
fi
log "all targets: $total executions, no crash"
