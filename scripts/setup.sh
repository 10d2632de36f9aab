#!/usr/bin/env bash
# berth's set-up and main job, in one command: installs what berth needs, builds it, installs
# the binaries on PATH, starts berthd and talks to it.
#
#   sudo scripts/setup.sh
#
# Idempotent: run it again after pulling changes; a running berthd is restarted on the new
# binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${PREFIX:-/usr/local}
ROOT=${BERTH_ROOT:-/var/lib/berth}
STATE=${BERTH_STATE:-/run/berth}
LOG=${BERTH_LOG:-/var/log/berth/berthd.log}

scripts/install-deps.sh

revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
bazel build -c opt \
  "--per_file_copt=services/version/version_service.cc@-DBERTH_REVISION=\"$revision\"" \
  //services/daemon:berthd //ctl:berth //runtime:berth-runtime //shim:berth-shim

install -d "$PREFIX/bin"
# berthd finds berth-shim beside itself, and berth-runtime on PATH.
install -m 0755 bazel-bin/services/daemon/berthd bazel-bin/ctl/berth \
  bazel-bin/runtime/berth-runtime bazel-bin/shim/berth-shim "$PREFIX/bin/"
echo "setup: installed berthd, berth, berth-shim and berth-runtime in $PREFIX/bin"

# Restart berthd on the freshly installed binary. Only the pid that berthd itself recorded in
# its root lock is stopped.
if [[ -f "$ROOT/berthd.lock" ]]; then
  pid=$(cat "$ROOT/berthd.lock" 2>/dev/null || true)
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
    [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */berthd ]]; then
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
fi
install -d "$(dirname "$LOG")"
setsid "$PREFIX/bin/berthd" --root "$ROOT" --state "$STATE" </dev/null >>"$LOG" 2>&1 &
for _ in $(seq 100); do
  [[ -S "$STATE/berthd.sock" ]] && "$PREFIX/bin/berth" -H "unix://$STATE/berthd.sock" version \
    >/dev/null 2>&1 && break
  sleep 0.1
done
echo "setup: berthd is running (root $ROOT, state $STATE, log $LOG)"

"$PREFIX/bin/berth" -H "unix://$STATE/berthd.sock" version

# The main job: a busybox image built by `berth build` from Debian's busybox-static (FROM
# scratch, the binary copied in, its applets linked by a RUN in a container), then run.
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp /bin/busybox "$context/busybox"
cat >"$context/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["sh"]
DOCKERFILE
berth=("$PREFIX/bin/berth" -H "unix://$STATE/berthd.sock")
"${berth[@]}" build --progress plain -t busybox "$context"
"${berth[@]}" run --rm busybox echo hello from berth
