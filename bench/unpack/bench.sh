#!/usr/bin/env bash
# bench/unpack: load and unpack a multi-layer image made of this host's Debian files, with
# berth (`berth load`, which unpacks into overlayfs) and with containerd (`ctr images import`,
# which unpacks into its overlayfs), alternating, N runs each, every run into a fresh daemon
# root. Prints each side's median and mean in seconds and the ratio containerd/berth
# (target: >= 1.5, i.e. berth at least 1.5x faster). bench/run runs the same comparison among
# the others; this script is the quick way to look at unpacking alone.
#
#   sudo bench/unpack/bench.sh [N]     (default N=3; needs Debian's containerd and ctr)
#
# The image and both daemons' roots live on a tmpfs by default, so that the numbers measure the
# engines and not the disk (on a VM disk with burst credits, runs drift by 4x); BENCH_DISK=1
# puts them on /tmp's filesystem instead. BENCH_LAYERS overrides the directories (one layer each, gzip) the image is made of; they must
# add up to at least 200 MB. containerd runs in a private mount namespace with the cgroup2
# hierarchy at /sys/fs/cgroup (as e2e/ctr_test.cc runs it), on its own temp root and sockets;
# its snapshot mounts die with that namespace. Daemons are stopped by pid and the temp dir is
# removed on every exit path.
set -euo pipefail
cd "$(dirname "$0")/../.."

N=${1:-3}
LAYERS=${BENCH_LAYERS:-"usr/share/locale usr/share/man usr/lib/python3.11 usr/share/vim usr/share/icons"}
[[ $(id -u) == 0 ]] || { echo "bench: needs root" >&2; exit 1; }
for b in /usr/bin/containerd /usr/bin/ctr; do
  [[ -x $b ]] || { echo "bench: $b is not installed (scripts/install-deps.sh)" >&2; exit 1; }
done

bazel build -c opt //services/daemon:berthd //ctl:berth >/dev/null 2>&1 ||
  bazel build -c opt //services/daemon:berthd //ctl:berth
tmp=$(mktemp -d /tmp/berth-bench-unpack.XXXXXX)
pids=()
cleanup() {
  set +e
  local p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pids=()
  # Nothing berth does here mounts, but never leave a mount behind under the temp dir.
  findmnt -rn -o TARGET | { grep "^$tmp/" || true; } | sort -r | while read -r m; do umount -l "$m"; done
  if findmnt -rn -o TARGET "$tmp" >/dev/null 2>&1; then umount -l "$tmp" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [[ "${BENCH_DISK:-}" != 1 ]]; then
  mount -t tmpfs -o size=4g tmpfs "$tmp"
fi
# Not bazel-bin/: that link follows whichever configuration was built last.
cp -L bazel-out/k8-opt/bin/services/daemon/berthd bazel-out/k8-opt/bin/ctl/berth "$tmp/"

echo "bench: building the image from /${LAYERS// / /} ..." >&2
# shellcheck disable=SC2086  # one directory per layer
python3 bench/lib/big_image.py "$tmp/image.tar" $LAYERS >/dev/null

# shellcheck source=bench/lib/wait_for.sh
source bench/lib/wait_for.sh

stop() {  # pid
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  pids=()
}

declare -A times
now() { echo "$EPOCHREALTIME"; }
record() {  # name start end
  times[$1]+="$(( ${3/./} - ${2/./} )) "
}

run_berth() {
  local d=$tmp/berth-$1 start end
  mkdir -p "$d"
  "$tmp/berthd" --root "$d/root" --state "$d/state" --address "unix://$d/b.sock" \
    --log-level warn 2>"$d/berthd.log" &
  pids=($!)
  wait_for "${pids[0]}" "$tmp/berth" -H "unix://$d/b.sock" version
  start=$(now)
  "$tmp/berth" -H "unix://$d/b.sock" load -i "$tmp/image.tar" >/dev/null 2>"$d/load.log" ||
    { cat "$d/load.log" "$d/berthd.log" >&2; return 1; }
  end=$(now)
  record berth "$start" "$end"
  grep -q "unpacked" "$d/load.log" || { echo "bench: berth load did not unpack" >&2; cat "$d/load.log" >&2; return 1; }
  stop "${pids[0]}"
  rm -rf "$d"
}

run_containerd() {
  local d=$tmp/ctrd-$1 start end
  mkdir -p "$d"
  cat >"$d/config.toml" <<TOML
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$d/c.sock"
[ttrpc]
  address = "$d/c.sock.ttrpc"
TOML
  unshare --mount --propagation private /bin/sh -c \
    "mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec /usr/bin/containerd --config $d/config.toml --log-level warn" \
    2>"$d/containerd.log" &
  pids=($!)
  wait_for "${pids[0]}" /usr/bin/ctr --address "$d/c.sock" version
  start=$(now)
  /usr/bin/ctr --address "$d/c.sock" --namespace bench images import "$tmp/image.tar" \
    >/dev/null 2>"$d/import.log" || { cat "$d/import.log" "$d/containerd.log" >&2; return 1; }
  end=$(now)
  record containerd "$start" "$end"
  local n
  n=$(/usr/bin/ctr --address "$d/c.sock" --namespace bench snapshots ls | tail -n +2 | wc -l)
  [[ $n -ge 1 ]] || { echo "bench: ctr import did not unpack" >&2; return 1; }
  stop "${pids[0]}"
  rm -rf "$d"
}

for ((i = 0; i < N; i++)); do
  sync; run_berth "$i"
  sync; run_containerd "$i"
done

stats() {  # microsecond values → "median mean" in s
  tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1; s+=$1}
    END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.3f %.3f", m/1e6, s/NR/1e6}'
}
read -r bmed bmean <<<"$(stats <<<"${times[berth]}")"
read -r cmed cmean <<<"$(stats <<<"${times[containerd]}")"
echo "berth load (unpack):        median ${bmed}s  mean ${bmean}s  (runs: ${times[berth]}us)"
echo "ctr images import (unpack): median ${cmed}s  mean ${cmean}s  (runs: ${times[containerd]}us)"
awk -v b="$bmed" -v c="$cmed" 'BEGIN {r = c / b; printf "ratio containerd/berth (median): %.2fx  (target >= 1.5x): %s\n", r, (r >= 1.5 ? "met" : "NOT met")}'
