#!/usr/bin/env bash
# bench/shim: the memory of one shim holding one sleeping busybox container — berth-shim (with
# berth-runtime) next to containerd-shim-runc-v2 (with runc) started by containerd's `ctr run
# -d`. Prints each shim's threads, RSS and PSS from /proc/PID/smaps_rollup, and the ratio
# (target: berth-shim <= 2 MB RSS; containerd-shim-runc-v2 measured 13.2 MB here).
#
#   sudo bench/shim/bench.sh       (needs Debian's containerd, ctr and runc)
#
# containerd runs in a private mount namespace with the cgroup2 hierarchy at /sys/fs/cgroup (as
# e2e/ctr_test.cc runs it), on its own temp root, state and sockets; its snapshot mounts die
# with that namespace. berth-runtime finds the cgroup2 mount itself and never touches the v1
# hierarchies. The driver (measure.py) stops every process it started by pid, reaps the
# containerd shims it adopts as a subreaper, and removes the cgroups; the temp dir goes on every
# exit path.
set -euo pipefail
cd "$(dirname "$0")/../.."

[[ $(id -u) == 0 ]] || { echo "bench: needs root" >&2; exit 1; }
for b in /usr/bin/containerd /usr/bin/ctr /usr/bin/containerd-shim-runc-v2; do
  [[ -x $b ]] || { echo "bench: $b is not installed (apt-get install containerd)" >&2; exit 1; }
done
command -v runc >/dev/null || { echo "bench: runc is not installed (apt-get install runc)" >&2; exit 1; }

bazel build -c opt //shim:berth-shim //runtime:berth-runtime >/dev/null 2>&1 ||
  bazel build -c opt //shim:berth-shim //runtime:berth-runtime
tmp=$(mktemp -d /tmp/berth-bench-shim.XXXXXX)
cleanup() {
  set +e
  # Nothing here mounts in the host's namespace; never leave a mount behind all the same.
  findmnt -rn -o TARGET | { grep "^$tmp/" || true; } | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Not bazel-bin/: that link follows whichever configuration was built last, and others may
# build in this checkout meanwhile.
opt=bazel-out/k8-opt/bin
cp -L "$opt/shim/berth-shim" "$opt/runtime/berth-runtime" "$tmp/"
python3 e2e/fixtures/make_oci_image.py "$tmp/bb.tar" docker.io/library/bb:latest >/dev/null
python3 bench/shim/measure.py "$tmp"
