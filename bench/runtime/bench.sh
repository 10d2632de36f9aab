#!/usr/bin/env bash
# bench/runtime: create+start+wait+delete of /bin/true on one busybox bundle with pid, mount,
# uts, ipc and network namespaces — berth-runtime against runc, alternating, N runs each.
# Prints each runtime's median and mean in ms, and the ratio berth/runc (target: <= 0.4).
# bench/run runs the same comparison (and crun's) among the others; this is the quick look.
#
#   sudo bench/runtime/bench.sh [N]      (default N=50; needs runc: apt-get install runc)
#
# Both runtimes run inside a private mount namespace where /sys/fs/cgroup is the cgroup2
# hierarchy, so runc uses cgroup v2 too and neither touches this host's v1 hierarchies.
set -euo pipefail
cd "$(dirname "$0")/../.."

N=${1:-50}
if [[ "${BENCH_INNER:-}" != 1 ]]; then
  command -v runc >/dev/null || { echo "bench: runc is not installed (apt-get install runc)" >&2; exit 1; }
  bazel build -c opt //runtime:berth-runtime >/dev/null 2>&1 || bazel build -c opt //runtime:berth-runtime
  tmp=$(mktemp -d /tmp/berth-bench.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  # Not bazel-bin/: that link follows whichever configuration was built last.
  cp -L bazel-out/k8-opt/bin/runtime/berth-runtime "$tmp/berth-runtime"
  # Not exec: the EXIT trap above must run once the inner part is done, or the temp dir stays.
  env BENCH_INNER=1 BENCH_TMP="$tmp" unshare --mount --propagation private "$0" "$N"
  exit
fi

tmp=$BENCH_TMP
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# State directories on tmpfs, as /run is: both runtimes keep their state there by default.
mkdir -p "$tmp/run"
mount -t tmpfs tmpfs "$tmp/run"
bundle=$tmp/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" "$bundle/rootfs/sys"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
(cd "$bundle" && "$tmp/berth-runtime" spec)
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/true"]
spec["linux"]["namespaces"] = [{"type": t} for t in ("pid", "mount", "uts", "ipc", "network")]
spec["linux"]["cgroupsPath"] = "/berth-bench/c"
json.dump(spec, open(path, "w"))
PY

declare -A times
run_one() {  # runtime-name binary index
  local start end
  start=$EPOCHREALTIME
  "$2" --root "$tmp/run/state-$1" run --bundle "$bundle" "bench-$3" >/dev/null
  end=$EPOCHREALTIME
  times[$1]+="$(( (${end/./} - ${start/./}) )) "
}
for ((i = 0; i < N; i++)); do
  run_one berth "$tmp/berth-runtime" "$i"
  run_one runc "$(command -v runc)" "$i"
done
rmdir /sys/fs/cgroup/berth-bench 2>/dev/null || true

stats() {  # microsecond values → "median mean" in ms
  tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1; s+=$1}
    END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.2f %.2f", m/1000, s/NR/1000}'
}
read -r bm bmean <<<"$(echo "${times[berth]}" | stats)"
read -r rm rmean <<<"$(echo "${times[runc]}" | stats)"
echo "runtime: create+start+wait+delete of /bin/true, $N runs each, alternating"
printf "  berth-runtime  median %7.2f ms   mean %7.2f ms\n" "$bm" "$bmean"
printf "  runc           median %7.2f ms   mean %7.2f ms\n" "$rm" "$rmean"
awk -v b="$bm" -v r="$rm" 'BEGIN {printf "  ratio berth/runc (medians): %.3f   (target <= 0.4)\n", b/r}'
