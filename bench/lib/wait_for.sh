# Sourced by the bench scripts (from the repository root).
#
# wait_for PID COMMAND...: until COMMAND succeeds (up to a minute), or the daemon PID dies.
wait_for() {
  local pid=$1; shift
  for _ in $(seq 600); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "bench: daemon $pid died" >&2; return 1; }
    sleep 0.1
  done
  echo "bench: daemon $pid did not come up" >&2
  return 1
}
