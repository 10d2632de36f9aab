#!/usr/bin/env bash
# bench/build: the same multi-step Dockerfile (FROM scratch, busybox copied in and installed
# by a RUN, a 30 MB tree of this host's files copied, RUNs that read and write files, ENV,
# WORKDIR, CMD) built by `berth build` and by `docker build` (Debian's docker.io, its
# default classic builder; BuildKit too when BENCH_BUILDKIT=1), cold (a fresh daemon root) and
# cached (the same build again), alternating the two, N rounds each. Prints each side's
# median and the ratio docker/berth (above 1: berth faster).
#
#   sudo bench/build/bench.sh [N]     (default N=3; BENCH_QUICK=1 makes it 2)
#
# Every daemon runs in a private mount namespace with the cgroup2 hierarchy mounted at
# /sys/fs/cgroup (as e2e/ctr_test.cc runs containerd): dockerd and its runc then see a pure
# cgroup v2 host and never touch this hybrid host's v1 hierarchies, and their mounts die with
# the namespace. Everything lives on a tmpfs, so that the disk does not decide. dockerd runs
# with no bridge, iptables or NAT, and builds use --network none (berth's RUN steps have an
# empty network namespace). Daemons are stopped by pid, the cgroups they made are removed,
# and the tmpfs is unmounted on every exit path. The script is its own child subreaper, so
# that the shims (which double-fork) are reaped here rather than left as zombies.
#
# bench/run calls this with BENCH_BIN (opt binaries), BENCH_QUICK and BENCH_JSON (figures are
# written there; see bench/lib/suite_build.py).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ -z "${BENCH_BUILD_REAPER:-}" ]]; then
  # Become a child subreaper (PR_SET_CHILD_SUBREAPER = 36), kept across exec.
  exec env BENCH_BUILD_REAPER=1 python3 -c '
import ctypes, os, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
os.execv("/bin/bash", ["/bin/bash"] + sys.argv[1:])' "$0" "$@"
fi

N=${1:-3}
[[ "${BENCH_QUICK:-0}" == 1 ]] && N=${1:-2}
[[ $(id -u) == 0 ]] || { echo "bench: needs root" >&2; exit 1; }
for b in /usr/sbin/dockerd /usr/bin/docker /bin/busybox; do
  [[ -x $b ]] || { echo "bench: $b is not installed (scripts/install-deps.sh; docker.io)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/berth-bench-build.XXXXXX)
pids=()
CGROUPS=(berth/berthbench-build berthbench-build-docker)
cleanup() {
  set +e
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  pids=()
  remove_cgroups
  findmnt -rn -o TARGET | { grep "^$tmp/" || true; } | sort -r | while read -r m; do umount -l "$m"; done
  if findmnt -rn -o TARGET "$tmp" >/dev/null 2>&1; then umount -l "$tmp"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cgroup2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
remove_cgroups() {  # the (empty) cgroups our daemons made, deepest first
  [[ -n "$cgroup2" ]] || return 0
  local cg
  for cg in "${CGROUPS[@]}"; do
    [[ -d "$cgroup2/$cg" ]] || continue
    find "$cgroup2/$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

mount -t tmpfs -o size=6g tmpfs "$tmp"
if [[ -n "${BENCH_BIN:-}" ]]; then
  bin=$BENCH_BIN
else
  bazel build -c opt //services/daemon:berthd //ctl:berth //shim:berth-shim \
    //runtime:berth-runtime >/dev/null 2>&1 ||
    bazel build -c opt //services/daemon:berthd //ctl:berth //shim:berth-shim //runtime:berth-runtime
  mkdir -p "$tmp/bin"
  # Not bazel-bin/: that link follows whichever configuration was built last.
  for b in services/daemon/berthd ctl/berth shim/berth-shim runtime/berth-runtime; do
    cp -L "bazel-out/k8-opt/bin/$b" "$tmp/bin/"
  done
  bin=$tmp/bin
fi

# The context: busybox, 30 MB of this host's files, a script.
ctx=$tmp/context
mkdir -p "$ctx/data"
cp /bin/busybox "$ctx/"
cp -r /usr/lib/python3.11/email /usr/lib/python3.11/json /usr/lib/python3.11/asyncio \
  /usr/lib/python3.11/unittest /usr/share/perl "$ctx/data/" 2>/dev/null || true
cat >"$ctx/script.sh" <<'SH'
set -e
mkdir -p /app/gen
i=0
while [ $i -lt 300 ]; do echo "file $i" > /app/gen/f$i; i=$((i + 1)); done
tar -cf /app/data.tar -C /app data
SH
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV APP=/app
WORKDIR /app
COPY data/ /app/data/
RUN find /app/data -type f | wc -l > /app/count && find /app/data -type f -exec cat {} + | md5sum > /app/sum
COPY script.sh /app/
RUN sh /app/script.sh
RUN rm -rf /app/data/perl && echo done > /app/done
CMD ["sh"]
DOCKERFILE
echo "bench: context $(du -sh "$ctx" | cut -f1), $(find "$ctx" -type f | wc -l) files" >&2

# shellcheck source=bench/lib/wait_for.sh
source bench/lib/wait_for.sh
stop() {  # pid
  [[ "$(cat "/proc/$1/comm" 2>/dev/null)" == berthd || "$(cat "/proc/$1/comm" 2>/dev/null)" == dockerd ]] ||
    echo "bench: pid $1 is not a daemon ($(cat "/proc/$1/comm" 2>/dev/null))" >&2
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  pids=()
  remove_cgroups
}
# A command prefix: a private mount namespace with cgroup2 at /sys/fs/cgroup. A prefix, not a
# function, so that `"${in_namespace[@]}" daemon … &` leaves $! the daemon's own pid (every
# step execs the next).
in_namespace=(unshare --mount --propagation private /bin/sh -c
  'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"' sh)

declare -A times
now() { echo "$EPOCHREALTIME"; }
record() { times[$1]+="$(( ${3/./} - ${2/./} )) "; }

run_berth() {
  local d=$tmp/berth-$1 start end
  mkdir -p "$d"
  cat >"$d/config.yaml" <<YAML
shim: $bin/berth-shim
runtimes:
  berth-runtime: $bin/berth-runtime
YAML
  "${in_namespace[@]}" "$bin/berthd" --config "$d/config.yaml" --root "$d/root" --state "$d/state" \
    --address "unix://$d/b.sock" --default-network none --log-level warn 2>"$d/berthd.log" &
  pids=($!)
  local berth=("$bin/berth" -H "unix://$d/b.sock" -n berthbench-build)
  wait_for "${pids[0]}" "${berth[@]}" version
  for phase in cold cached; do
    start=$(now)
    "${berth[@]}" build --progress plain -t bench "$ctx" >"$d/$phase.log" 2>&1 ||
      { cat "$d/$phase.log" "$d/berthd.log" >&2; return 1; }
    end=$(now)
    record "berth-$phase" "$start" "$end"
  done
  grep -q CACHED "$d/cached.log" || { echo "bench: berth's second build was not cached" >&2; return 1; }
  "${berth[@]}" run --rm bench cat /app/done >/dev/null
  stop "${pids[0]}"
  rm -rf "$d"
}

run_docker() {  # round [buildkit]
  local d=$tmp/docker-$1 start end name=docker
  [[ "${2:-}" == 1 ]] && name=docker-buildkit
  mkdir -p "$d"
  "${in_namespace[@]}" /usr/sbin/dockerd --data-root "$d/root" --exec-root "$d/exec" \
    -H "unix://$d/d.sock" --pidfile "$d/docker.pid" --iptables=false --ip-masq=false \
    --ip-forward=false --bridge=none --userland-proxy=false \
    --cgroup-parent /berthbench-build-docker --exec-opt native.cgroupdriver=cgroupfs \
    --storage-driver overlay2 --log-level warn 2>"$d/dockerd.log" &
  pids=($!)
  local docker=(/usr/bin/docker -H "unix://$d/d.sock")
  wait_for "${pids[0]}" "${docker[@]}" version
  for phase in cold cached; do
    start=$(now)
    DOCKER_BUILDKIT=${2:-0} "${docker[@]}" build --network none -t bench "$ctx" \
      >"$d/$phase.log" 2>&1 || { cat "$d/$phase.log" "$d/dockerd.log" >&2; return 1; }
    end=$(now)
    record "$name-$phase" "$start" "$end"
  done
  grep -qi "cache" "$d/cached.log" || { echo "bench: docker's second build was not cached" >&2; return 1; }
  stop "${pids[0]}"
  rm -rf "$d"
}

for ((i = 0; i < N; i++)); do
  if ((i % 2 == 0)); then
    run_berth "$i"; run_docker "$i"
  else
    run_docker "$i"; run_berth "$i"
  fi
  [[ "${BENCH_BUILDKIT:-0}" == 1 ]] && run_docker "bk$i" 1
done

stats() {  # microsecond values → "median mean" in s
  tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1; s+=$1}
    END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.3f %.3f", m/1e6, s/NR/1e6}'
}
contenders=(berth docker)
[[ "${BENCH_BUILDKIT:-0}" == 1 ]] && contenders+=(docker-buildkit)
declare -A med
for phase in cold cached; do
  for c in "${contenders[@]}"; do
    read -r m mean <<<"$(stats <<<"${times[$c-$phase]}")"
    med[$c-$phase]=$m
    printf '%-16s %-6s median %7.3fs  mean %7.3fs  (runs: %sus)\n' "$c build" "$phase" "$m" "$mean" \
      "${times[$c-$phase]}"
  done
  for c in "${contenders[@]:1}"; do
    awk -v b="${med[berth-$phase]}" -v p="${med[$c-$phase]}" -v c="$c" -v ph="$phase" \
      'BEGIN {printf "ratio %s/berth, %s (median): %.2fx\n", c, ph, p / b}'
  done
done

if [[ -n "${BENCH_JSON:-}" ]]; then
  python3 - "$BENCH_JSON" "${contenders[@]}" <<PY
import json, sys
times = {$(for k in "${!times[@]}"; do printf '"%s": "%s", ' "$k" "${times[$k]}"; done)}
out, names = sys.argv[1], sys.argv[2:]
figs = []
for phase in ("cold", "cached"):
    runs = {n: [int(v) / 1e6 for v in times.get(n + "-" + phase, "").split()] for n in names}
    figs.append({"id": "build_" + phase, "title": "build of a multi-step Dockerfile, " + phase,
                 "unit": "s", "runs": runs, "subject": "berth", "better": "lower"})
json.dump({"figures": figs}, open(out, "w"), indent=1)
PY
fi
